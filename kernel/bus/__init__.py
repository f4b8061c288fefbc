"""Message bus port and its two transports: Kafka (distributed) and in-process (embedded).

Both run the very same delivery code (``kernel.bus.delivery``) and the very same handlers; only
the transport differs.
"""
