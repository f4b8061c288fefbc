"""SLA slice: incidents, their lifecycle, working-time deadlines and the monthly indicators."""
