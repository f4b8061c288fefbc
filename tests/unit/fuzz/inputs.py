"""Hostile inputs shared by the fuzz tests: what a broken client, a corrupted file or a malicious
sender can put where a parser expects data. Kept small per example so that hundreds of examples
run in seconds; the expensive extremes (1 MB, 10,000 levels) are drawn rarely or pinned with
``@example``.
"""

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from kernel.bus.memory import RecordingPublisher
from kernel.contracts.topics import Topic

# Kafka's default limit for one record (producer max.request.size, broker message.max.bytes):
# anything a stage publishes must fit, or publishing fails and the input is retried for ever.
KAFKA_MAX_BYTES = 1 << 20
MEGABYTE = 1 << 20
DEEP = 10_000

# NUL, unpaired surrogates (high, low, reversed pair), BOM, bidi override, line separators,
# DEL, Cyrillic, astral emoji, VK mention markup.
NASTY_CHARS = (
    "\x00", "\ud800", "\udfff", "\udc00\ud800", "\ufeff", "\u202e", "\u2028", "\r", "\n", "\t",
    "\x7f", "\x1b", "я", "😀", "[id1|", "]", "\\", '"',
)  # fmt: skip

nasty_text = st.lists(
    st.characters(codec=None, exclude_categories=()) | st.sampled_from(NASTY_CHARS), max_size=16
).map("".join)
huge_integers = st.integers(min_value=-(10**60), max_value=10**60) | st.sampled_from(
    [2**63, -(2**63) - 1, 10**4000, -(10**4000)]
)
scalars = (
    st.none()
    | st.booleans()
    | huge_integers
    | st.floats(allow_nan=True, allow_infinity=True)
    | nasty_text
)


def nested_lists(depth: int) -> list[Any]:
    """``depth`` lists each inside the next, built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_objects(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@dataclass(frozen=True)
class Deep:
    """A nested value for ``@example``, built by the test: Hypothesis prints explicit examples,
    and printing 10,000 levels overflows its own pretty-printer."""

    depth: int = DEEP
    objects: bool = False

    def build(self) -> Any:
        return nested_objects(self.depth) if self.objects else nested_lists(self.depth)


def built(value: Any) -> Any:
    return value.build() if isinstance(value, Deep) else value


deep_values = st.sampled_from([DEEP, 1_000, 990]).map(nested_lists) | st.sampled_from(
    [DEEP, 1_000]
).map(nested_objects)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=6,
)
hostile_values = json_values | deep_values


def deep_json(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


# Bytes that are not a JSON document, or are one no contract accepts.
garbage_bytes = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"{oops",
            b"\xff\xfe\x00",
            b"\xed\xa0\x80",  # a surrogate encoded as UTF-8: invalid UTF-8
            b'{"a": "\\ud800"}',
            b'"\\u0000"',
            b"9" * 5000,  # over Python's 4,300-digit limit for int()
            b"1e400",
            b"NaN",
            b"[" * DEEP,
            deep_json(DEEP),
            deep_json(DEEP, b'{"a":', b"}"),
            b"\x00" * 1000,
        ]
    ),
    json_values.map(lambda value: json.dumps(value).encode()),
)


def big_text(char: str = "я", size: int = MEGABYTE) -> str:
    return char * size


class KafkaSizedPublisher(RecordingPublisher):
    """The recording publisher with the broker's limit: a record over 1 MiB is refused, as
    Kafka refuses it (MessageSizeTooLargeError), instead of being kept."""

    async def publish(self, topic: Topic, key: str, payload: BaseModel | bytes) -> None:
        body = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
        if len(body) > KAFKA_MAX_BYTES:
            raise OverflowError(f"{topic.value}: record of {len(body)} bytes over Kafka's limit")
        await super().publish(topic, key, payload)
