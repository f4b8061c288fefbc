"""Composition roots: the same stages wired to Kafka (one process per stage) or to the in-process
bus (everything in one process). Only these modules, the CLI and the web app import slices."""
