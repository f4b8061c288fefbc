"""The shared kernel of otklik: what every slice and process stands on — the message and event
contracts, the bus, PostgreSQL, settings, the clock and metrics. It imports no slice and nothing
that runs; the slices (ingest, classifier, sla) import it, and services/ wires them together."""
