"""Ingest slice: VK communities and appeal channels into otklik.messages.raw.v1."""
