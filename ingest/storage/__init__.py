"""What the ingest slice keeps in PostgreSQL: the cursors of polled sources and mailboxes."""
