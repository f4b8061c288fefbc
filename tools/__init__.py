"""Developer servers and tools, never imported by production code nor shipped in the image: a
single-node KRaft Kafka from Maven Central jars, Debian's Prometheus and Chromium, the fake VK
API, the otklik processes of the end-to-end tests and benchmarks, the preflight and audit steps
of `make test`, and the dashboard renderer behind the README's pictures."""
