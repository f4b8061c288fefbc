"""Shared kernel of otklik: contracts, settings, persistence, observability and entrypoints."""
