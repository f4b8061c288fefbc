#!/bin/sh
# Create otklik's Kafka topics with their partition counts and retention, and bring the retention
# of existing ones up to date. Idempotent: run it on every deploy (compose service `topics`,
# Kubernetes Job `otklik-topics`, which embeds this file: a test keeps the two identical).
#
# Partitions bound how far a consumer group scales: at most one consumer per partition. They can
# be raised later (kafka-topics.sh --alter --partitions N), never lowered; raising them moves keys
# to other partitions, so do it with the producers stopped (docs/operations.md, "Масштабирование").
set -eu
BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
NAMESPACE="${OTKLIK_TOPIC_NAMESPACE:-}"
PARTITIONS="${OTKLIK_KAFKA_PARTITIONS:-6}"
REPLICATION="${OTKLIK_KAFKA_REPLICATION_FACTOR:-1}"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
DAY=86400000

# topic                          partitions     retention (ms)
while read -r topic partitions retention; do
  name="$NAMESPACE$topic"
  "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor "$REPLICATION" \
    --config "retention.ms=$retention"
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type topics \
    --entity-name "$name" --add-config "retention.ms=$retention"
done <<TOPICS
otklik.messages.raw.v1           $PARTITIONS    $((7 * DAY))
otklik.messages.classified.v1    $PARTITIONS    $((7 * DAY))
otklik.incidents.events.v1       $PARTITIONS    $((30 * DAY))
otklik.indicators.monthly.v1     1              $((400 * DAY))
otklik.deadletters.v1            1              $((30 * DAY))
otklik.answers.deliveries.v1     $PARTITIONS    $((30 * DAY))
TOPICS
"$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topics-with-overrides
