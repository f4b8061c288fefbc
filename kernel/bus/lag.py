"""Consumer lag, measured by the process that consumes: for every partition assigned to one of
its consumers, the end offset (high watermark) minus the group's committed offset — the messages
still to be processed. Kafka has no lag metric of its own on the client, and FastStream's
middleware counts messages, not what is left.

Each process reports only its assigned partitions, so the sum over processes is the group's lag
whatever the scale; a partition taken away by a rebalance disappears from this process's series.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from kernel.observability import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchedConsumer:
    topic: str  # the logical topic (kernel.contracts.topics.Topic value), no namespace
    group: str  # the logical consumer group, no prefix
    consumer: Callable[[], AIOKafkaConsumer | None]  # None until started and after stopping


async def partition_lags(consumer: AIOKafkaConsumer) -> dict[int, int]:
    """Lag of every assigned partition; a partition with nothing committed yet counts from its
    beginning (the groups start from the earliest offset)."""
    partitions: list[TopicPartition] = sorted(consumer.assignment())
    if not partitions:
        return {}
    ends = await consumer.end_offsets(partitions)
    lags: dict[int, int] = {}
    for partition in partitions:
        committed = await consumer.committed(partition)
        if committed is None:
            committed = (await consumer.beginning_offsets([partition]))[partition]
        lags[partition.partition] = max(0, ends[partition] - committed)
    return lags


class LagMonitor:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._watched: list[WatchedConsumer] = []
        self._reported: set[tuple[str, str, str]] = set()

    def watch(self, watched: WatchedConsumer) -> None:
        self._watched.append(watched)

    @property
    def watching(self) -> bool:
        return bool(self._watched)

    async def measure_once(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        for watched in self._watched:
            consumer = watched.consumer()
            if consumer is None:
                continue
            try:
                lags = await partition_lags(consumer)
            except (KafkaError, AssertionError, KeyError) as error:
                # a rebalance or a broker hiccup: keep the last values, measure again next round
                log.debug("lag of %s not measured: %r", watched.topic, error)
                seen |= {key for key in self._reported if key[:2] == (watched.topic, watched.group)}
                continue
            for partition, lag in lags.items():
                key = (watched.topic, watched.group, str(partition))
                self._metrics.consumer_lag.labels(*key).set(lag)
                seen.add(key)
        for gone in self._reported - seen:
            self._metrics.consumer_lag.remove(*gone)
        self._reported = seen

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.measure_once()
            except Exception:
                log.exception("measuring the consumer lag failed; retrying")
            await asyncio.sleep(interval)
