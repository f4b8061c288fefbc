"""Pure ingest code: the sources catalog, VK events and appeals normalised into raw messages,
e-mail parsing. No I/O, no clock (tests/unit/test_architecture.py checks this folder)."""
