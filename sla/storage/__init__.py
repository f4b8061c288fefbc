"""Everything the SLA slice reads from and writes to PostgreSQL: incidents and their events,
the queue, threads, changes, indicator revisions, drill-downs and redaction."""
