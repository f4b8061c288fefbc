"""The baseline of bench.pipeline: a raw aiokafka consume→produce loop in its own process.

It does what a stage does minus the stage's own work: read a batch of records (a consumer group,
manual commits), send each record's key and value to the output topic with the producer
settings otklik uses (idempotent, acks=all), wait for every acknowledgement, then commit the
batch's offsets: at-least-once, like a stage. It prints ``ready`` once it holds its
partitions and the first record went through, then ``done <epoch seconds> <cpu seconds>`` once
``--count`` more records are through.

    .venv/bin/python -m bench.raw_loop --bootstrap HOST:PORT --source T --dest T --count N
"""

import argparse
import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


async def loop(bootstrap: str, source: str, dest: str, count: int, batch: int) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id="bench-raw-loop",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id="bench-raw-loop", enable_idempotence=True
    )
    await consumer.start()
    await producer.start()
    try:
        seen, ready, cpu = 0, False, 0.0
        while not ready or seen < count:
            records = await consumer.getmany(timeout_ms=200, max_records=batch)
            pending, offsets = [], {}
            for partition, batch_records in records.items():
                for record in batch_records:
                    pending.append(await producer.send(dest, record.value, key=record.key))
                offsets[TopicPartition(partition.topic, partition.partition)] = (
                    batch_records[-1].offset + 1
                )
            if not pending:
                continue
            await asyncio.gather(*pending)
            await consumer.commit(offsets)
            if not ready:  # the sentinel, alone: from here on the caller's clock runs
                ready, cpu = True, time.process_time()
                print("ready", flush=True)
                continue
            seen += len(pending)
        print(f"done {time.time():.6f} {time.process_time() - cpu:.3f}", flush=True)
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--count", type=int, required=True, help="records after the sentinel")
    parser.add_argument("--batch", type=int, default=500, help="most records read at once")
    args = parser.parse_args()
    asyncio.run(loop(args.bootstrap, args.source, args.dest, args.count, args.batch))


if __name__ == "__main__":
    main()
