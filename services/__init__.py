"""What runs: the `otklik` command line, one module per process wiring a slice's stage to Kafka
and PostgreSQL, the web app with its sign-in, and the demo. It imports the slices and the kernel;
nothing imports it."""
