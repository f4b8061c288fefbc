"""Local, no-root, no-Docker servers for the demo and the test suite: PostgreSQL from the pgserver
wheel and a single-node KRaft Apache Kafka from Maven Central jars."""
