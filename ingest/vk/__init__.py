"""VK adapters of the ingest slice: API client, Bots Long Poll, Callback API, wall polling, and
the fake VK API server the tests and benchmarks use in place of VK."""
