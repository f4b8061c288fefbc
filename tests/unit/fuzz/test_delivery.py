"""Fuzzing the consumer edge: ``deliver`` decodes every body a stage reads from its topic.

Property: each body reaches the handler once as its contract, or is dead-lettered once with the
reason; ``deliver`` never raises (a raise would fail the consumer and redeliver the same poison
for ever) and the dead letter fits one Kafka record, whatever the body.
"""

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kernel.bus.delivery import deliver
from kernel.bus.port import Subscription
from kernel.contracts.classification import ClassifiedMessage
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.incidents import IncidentEvent
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from tests.factories import classified, raw_message
from tests.unit.fuzz.inputs import (
    DEEP,
    KAFKA_MAX_BYTES,
    MEGABYTE,
    KafkaSizedPublisher,
    deep_json,
    garbage_bytes,
    hostile_values,
)

CONTRACTS: dict[Topic, type[BaseModel]] = {
    Topic.RAW_MESSAGES: RawMessage,
    Topic.CLASSIFIED_MESSAGES: ClassifiedMessage,
    Topic.DEAD_LETTERS: DeadLetter,
    Topic.INCIDENT_EVENTS: IncidentEvent,
}
VALID: list[bytes] = [
    raw_message(1).model_dump_json().encode(),
    classified(raw_message(2)).model_dump_json().encode(),
    DeadLetter(dead_letter_id="d", stage="s", reason="r", payload="p",
               failed_at=datetime(2026, 9, 1, tzinfo=UTC)).model_dump_json().encode(),
]  # fmt: skip


def with_field(body: bytes, field: str, value: Any) -> bytes:
    """A valid body with one field replaced, at the top or inside the nested message."""
    document = json.loads(body)
    holder = document.get("message", document)
    holder[field] = value
    try:
        return json.dumps(document).encode()
    except (RecursionError, ValueError):
        return deep_json(DEEP)


bodies = (
    garbage_bytes
    | st.sampled_from(VALID)
    | st.builds(
        with_field,
        st.sampled_from(VALID),
        st.sampled_from(["message_id", "text", "created_at", "decision", "payload", "x"]),
        hostile_values,
    )
)


@settings(max_examples=120, deadline=None)
@given(body=bodies, topic=st.sampled_from(list(CONTRACTS)))
@example(body=b"\xff" * MEGABYTE, topic=Topic.CLASSIFIED_MESSAGES)  # 3 MB as a letter before
@example(body=b"\x01" * MEGABYTE, topic=Topic.RAW_MESSAGES)  # 6 MB as a letter before
@example(body=deep_json(DEEP, b'{"message":', b"}"), topic=Topic.CLASSIFIED_MESSAGES)
@example(body=with_field(VALID[0], "text", "a\x00b"), topic=Topic.RAW_MESSAGES)
async def test_every_body_reaches_the_handler_once_or_is_dead_lettered_once(
    body: bytes, topic: Topic
) -> None:
    handled: list[BaseModel] = []

    async def handle(payload: BaseModel) -> None:
        handled.append(payload)

    model = CONTRACTS[topic]
    publisher = KafkaSizedPublisher()
    await deliver(Subscription(topic, "fuzz", model, handle), body, publisher, Metrics())
    letters = publisher.letters()
    assert len(handled) + len(letters) == 1
    if handled:
        assert isinstance(handled[0], model)
    else:
        [letter] = letters
        assert letter.stage == "fuzz" and letter.source_topic is not None
        assert letter.reason.startswith(f"invalid {topic.value}")
        assert body.decode("utf-8", "replace").startswith(letter.payload[:1000])
    assert all(len(sent) <= KAFKA_MAX_BYTES for _, _, sent in publisher.sent)
