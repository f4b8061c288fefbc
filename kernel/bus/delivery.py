"""Delivery of one message to one handler, the same for every transport.

Bad input (not JSON, not the contract) goes to the dead-letter topic with the reason and is
acknowledged, so it never blocks the partition. Transient failures (database or broker
unavailable) are retried in place for as long as it takes: acknowledging past them would lose the
message. Any other handler error is retried a few times and then dead-lettered with its reason.
"""

import asyncio
import hashlib
import logging
import random
from datetime import UTC, datetime

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from kernel.bus.port import Publisher, Subscription
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.topics import Topic
from kernel.observability import Metrics

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, OSError)
HANDLER_ATTEMPTS = 3
# A dead letter must itself fit one Kafka record (1 MiB), or dead-lettering fails and the input
# is retried for ever: at most six bytes of JSON per character (a control character escaped).
MAX_PAYLOAD_CHARS = 100_000


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated) or isinstance(error, OperationalError)
    return isinstance(error, TRANSIENT_ERRORS) or type(error).__module__.startswith("aiokafka")


def make_dead_letter(stage: str, topic: str | None, body: bytes, reason: str) -> DeadLetter:
    digest = hashlib.sha256(stage.encode() + b"\0" + body).hexdigest()
    payload = body.decode("utf-8", errors="replace")
    if len(payload) > MAX_PAYLOAD_CHARS:
        payload = payload[:MAX_PAYLOAD_CHARS] + f"\n[… {len(body)} bytes in all, cut]"
    return DeadLetter(
        dead_letter_id=digest,
        stage=stage,
        source_topic=topic,
        reason=reason[:2000],
        payload=payload,
        failed_at=datetime.now(UTC),
    )


async def send_dead_letter(publisher: Publisher, metrics: Metrics, letter: DeadLetter) -> None:
    metrics.dead_letters.labels(stage=letter.stage).inc()
    log.warning("dead letter from %s: %s", letter.stage, letter.reason)
    await publisher.publish(Topic.DEAD_LETTERS, letter.dead_letter_id, letter)


async def deliver(
    subscription: Subscription, body: bytes, publisher: Publisher, metrics: Metrics
) -> None:
    """Decode ``body`` and run the handler; returns when the message may be acknowledged."""
    payload = await _decode(subscription, body, publisher, metrics)
    if payload is not None:
        await _handle(subscription, payload, body, publisher, metrics)


async def deliver_batch(
    subscription: Subscription, bodies: list[bytes], publisher: Publisher, metrics: Metrics
) -> None:
    """Deliver records read together; returns when all of them may be acknowledged.

    Valid ones go to ``handle_batch`` at once (bad ones are dead-lettered first, as alone). An
    outage is retried in place like a single message's; any other failure of the batch sends
    its messages one by one through ``deliver``'s path, so that only the message at fault is
    dead-lettered and the others are applied.
    """
    metrics.batch_records.labels(stage=subscription.group).observe(len(bodies))
    decoded = [(await _decode(subscription, body, publisher, metrics), body) for body in bodies]
    valid = [(payload, body) for payload, body in decoded if payload is not None]
    if subscription.handle_batch is None or len(valid) < 2:
        for payload, body in valid:
            await _handle(subscription, payload, body, publisher, metrics)
        return
    failures = 0
    while True:
        try:
            await subscription.handle_batch([payload for payload, _ in valid])
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not _is_transient(error):
                log.warning("batch of %s failed (%r): one by one", subscription.group, error)
                for payload, body in valid:
                    await _handle(subscription, payload, body, publisher, metrics)
                return
            failures += 1
            await _back_off(subscription, failures, error)


async def _decode(
    subscription: Subscription, body: bytes, publisher: Publisher, metrics: Metrics
) -> BaseModel | None:
    """The payload, or None once its dead letter is sent."""
    topic = subscription.topic.value
    try:
        return subscription.model.model_validate_json(body)
    except (ValidationError, ValueError) as error:
        letter = make_dead_letter(subscription.group, topic, body, f"invalid {topic}: {error}")
        await send_dead_letter(publisher, metrics, letter)
        return None


async def _handle(
    subscription: Subscription,
    payload: BaseModel,
    body: bytes,
    publisher: Publisher,
    metrics: Metrics,
) -> None:
    topic = subscription.topic.value
    failures = 0
    while True:
        try:
            await subscription.handle(payload)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures += 1
            if not _is_transient(error) and failures >= HANDLER_ATTEMPTS:
                reason = f"handler failed {failures} times: {type(error).__name__}: {error}"
                letter = make_dead_letter(subscription.group, topic, body, reason)
                await send_dead_letter(publisher, metrics, letter)
                return
            await _back_off(subscription, failures, error)


async def _back_off(subscription: Subscription, failures: int, error: BaseException) -> None:
    delay = min(30.0, 0.2 * 2 ** min(failures, 8)) * (0.5 + random.random())  # noqa: S311
    log.warning("retrying %s in %.1fs after %r", subscription.group, delay, error)
    await asyncio.sleep(delay)
