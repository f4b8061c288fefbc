"""Fuzzing the VK edge: event normalisation, a long-poll batch, replay lines and a replay file.

Property: every input is a message, ignored (a type otklik does not handle) or a dead letter
with the reason; nothing raises out of the ingestor, every message fits a Kafka record, and a
poisoned event next to valid ones takes none of them down with it.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.domain.sources import SourceCatalog
from ingest.domain.vk_events import InvalidEventError, normalise_vk_event
from ingest.handlers import VkEventIngestor
from ingest.replay import replay_vk_file
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from tests.factories import GROUP, SOURCES_YAML
from tests.unit.fuzz.inputs import (
    DEEP,
    KAFKA_MAX_BYTES,
    MEGABYTE,
    Deep,
    KafkaSizedPublisher,
    big_text,
    built,
    deep_json,
    deep_values,
    garbage_bytes,
    hostile_values,
    json_values,
    nasty_text,
    scalars,
)

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
CATALOG = SourceCatalog.model_validate(yaml.safe_load(SOURCES_YAML))
# event prefix -> (source kind, container field, owner field)
COMMENTS = {
    "wall_reply": ("vk_comment", "post_id", "owner_id"),
    "board_post": ("vk_board", "topic_id", "topic_owner_id"),
    "photo_comment": ("vk_photo_comment", "photo_id", "photo_owner_id"),
    "video_comment": ("vk_video_comment", "video_id", "video_owner_id"),
    "market_comment": ("vk_market_comment", "item_id", "market_owner_id"),
}
ids = st.integers(min_value=-(10**40), max_value=10**40)
# Keys VK may add one day: never read, never a reason to refuse.
unexpected = st.dictionaries(nasty_text.map(lambda key: "x_" + key), json_values, max_size=2)
attachments = st.lists(
    st.fixed_dictionaries({"type": nasty_text}) | scalars | st.lists(scalars, max_size=2),
    max_size=10,
)
non_objects = (
    scalars
    | st.lists(scalars, max_size=3)
    | deep_values.filter(lambda value: not isinstance(value, dict))
)
non_integers = (
    st.none() | st.booleans() | st.floats() | nasty_text | st.lists(scalars, max_size=2)
) | deep_values


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A well-formed event of a handled type, with hostile text, and the id it must get."""
    owner, container, item = draw(ids), draw(ids), draw(ids)
    fields: dict[str, Any] = {**draw(unexpected), "text": draw(nasty_text)}
    if draw(st.booleans()):
        fields["date"] = draw(st.integers(min_value=946_684_800, max_value=4_102_444_800))
    if draw(st.booleans()):
        fields["attachments"] = draw(attachments)
    shape = draw(st.sampled_from(["wall", "message", *COMMENTS]))
    if shape == "wall":
        kind = draw(st.sampled_from(["wall_post_new", "wall_repost"]))
        obj = {**fields, "id": item, "owner_id": owner, "from_id": draw(ids)}
        expected = f"vk:vk_wall:{owner}:{item}:0"
    elif shape == "message":
        kind = "message_new"
        message = {**fields, "peer_id": container, "from_id": draw(ids)}
        message["conversation_message_id"] = item
        obj = {"message": message, "client_info": draw(unexpected)}
        expected = f"vk:vk_message:-{GROUP}:{container}:{item}"
    else:
        source_kind, container_key, owner_key = COMMENTS[shape]
        kind = f"{shape}_{draw(st.sampled_from(['new', 'edit', 'delete', 'restore']))}"
        obj = {**fields, "id": item, container_key: container, owner_key: owner}
        expected = f"vk:{source_kind}:{owner}:{container}:{item}"
    group = draw(st.sampled_from([GROUP, -GROUP]))
    event = {**draw(unexpected), "type": kind, "object": obj, "group_id": group, "v": "5.199"}
    return event, expected


def _item_holder(event: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = event["object"]
    return obj["message"] if event["type"] == "message_new" else obj


@st.composite
def poisoned_events(draw: st.DrawFn) -> Any:
    """A valid event broken in one way that no reader could repair."""
    event, _ = draw(valid_events())
    how = draw(
        st.sampled_from(
            ["event", "object", "group", "id", "no id", "text", "huge text", "attachments"]
        )
    )
    if how == "event":
        return draw(non_objects)
    if how == "object":
        event["object"] = draw(non_objects)
    elif how == "group":
        event["group_id"] = draw(
            non_integers | st.integers().filter(lambda group: abs(group) != GROUP)
        )
    elif how == "id":
        holder = _item_holder(event)
        holder["conversation_message_id" if "peer_id" in holder else "id"] = draw(non_integers)
    elif how == "no id":
        _item_holder(event).pop("conversation_message_id", None)
        _item_holder(event).pop("id", None)
    elif how in {"text", "huge text"}:
        event["type"] = event["type"].replace("_delete", "_new")  # a deletion's text is not read
        huge = st.just(big_text()) if how == "huge text" else st.nothing()
        _item_holder(event)["text"] = draw(huge | st.lists(scalars, min_size=1) | deep_values)
    else:
        too_many = [{"type": "photo"}] * 51
        _item_holder(event)["attachments"] = draw(st.integers().filter(bool) | st.just(too_many))
    return event


unhandled = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["group_join", "like_add", "wall_reply_typo", "message_typing_state"]
        ),
        "object": st.dictionaries(nasty_text, json_values, max_size=3),
        "group_id": st.just(GROUP),
    }
)
handled_type_with_hostile_object = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["wall_post_new", "message_new", "wall_reply_new",
                                 "board_post_edit"]),
        "object": st.dictionaries(
            st.sampled_from(["id", "owner_id", "post_id", "from_id", "date", "text", "message",
                             "attachments", "peer_id", "reply_to_comment", "topic_id"]),
            hostile_values,
        ),
        "group_id": st.just(GROUP),
    }
)  # fmt: skip


def assert_publishable(message: RawMessage) -> None:
    encoded = message.model_dump_json().encode()  # raises on an unpaired surrogate
    assert len(encoded) <= KAFKA_MAX_BYTES
    assert "\x00" not in message.text  # PostgreSQL text refuses NUL


@settings(max_examples=80, deadline=None)
@given(
    event=hostile_values
    | valid_events().map(lambda pair: pair[0])
    | poisoned_events()
    | unhandled
    | handled_type_with_hostile_object
)
@example(event=Deep())
@example(event=Deep(objects=True))
@example(event={"type": "wall_post_new", "group_id": GROUP, "object": {"id": 1, "owner_id": 1,
                "text": "a\ud800\x00b", "attachments": [{"type": "\udfff"}]}})  # fmt: skip
def test_any_event_becomes_a_message_none_or_invalid_event_error(event: Any) -> None:
    try:
        message = normalise_vk_event(built(event), CATALOG, NOW)
    except InvalidEventError as error:
        assert str(error)
        return
    if message is not None:
        assert_publishable(message)


def ingestor(publisher: KafkaSizedPublisher) -> VkEventIngestor:
    return VkEventIngestor(CATALOG, publisher, Metrics(), lambda: NOW)


tagged = st.one_of(
    valid_events().map(lambda pair: ("valid", pair[0], pair[1])),
    poisoned_events().map(lambda event: ("poison", event, None)),
    unhandled.map(lambda event: ("ignored", event, None)),
)


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(tagged, max_size=6))
@example(
    batch=[
        ("poison", Deep(), None),
        ("valid", {"type": "wall_post_new", "group_id": GROUP,
                   "object": {"id": 2, "owner_id": 1, "text": "a\ud800b\x00"}}, "vk:vk_wall:1:2:0"),
    ]
)  # fmt: skip
async def test_a_poisoned_update_takes_no_valid_one_with_it(
    batch: list[tuple[str, Any, str | None]],
) -> None:
    publisher = KafkaSizedPublisher()
    published = await ingestor(publisher).on_events([built(event) for _, event, _ in batch])
    expected = [message_id for tag, _, message_id in batch if tag == "valid"]
    assert [m.message_id for m in publisher.messages()] == expected
    assert published == len(expected)
    letters = publisher.letters()
    assert len(letters) == sum(tag == "poison" for tag, _, _ in batch)
    assert all(letter.reason and letter.stage == "ingest" for letter in letters)
    for message in publisher.messages():
        assert_publishable(message)


def line_of(event: Any) -> bytes:
    """The event as one JSON line (unpaired surrogates as \\u escapes, as JSON carries them)."""
    try:
        return json.dumps(event).encode()
    except RecursionError:  # too deep for json.dumps too: a line nested as deep
        return deep_json(DEEP)


lines = st.one_of(
    garbage_bytes.map(lambda line: ("poison", line)),
    valid_events().map(lambda pair: ("valid", line_of(pair[0]))),
    poisoned_events().map(lambda event: ("poison", line_of(event))),
    unhandled.map(lambda event: ("ignored", line_of(event))),
)


@settings(max_examples=60, deadline=None)
@given(tagged_line=lines)
@example(tagged_line=("poison", deep_json(DEEP)))
@example(tagged_line=("poison", deep_json(DEEP, b'{"a":', b"}")))
@example(tagged_line=("valid", b'{"type":"wall_post_new","group_id":%d,"object":{"id":1,'
                      b'"owner_id":1,"text":"\\ud800\\u0000\xd1\x8f"}}' % GROUP))  # fmt: skip
async def test_a_replay_line_is_published_ignored_or_dead_lettered_once(
    tagged_line: tuple[str, bytes],
) -> None:
    tag, line = tagged_line
    publisher = KafkaSizedPublisher()
    accepted = await ingestor(publisher).on_line(line, "events.jsonl:1")
    letters, messages = publisher.letters(), publisher.messages()
    if tag != "poison":  # garbage may happen to be a valid event or an ignored type
        assert accepted == (tag == "valid")
        assert len(letters) == 0
    assert len(messages) == int(accepted)
    assert len(letters) + len(messages) <= 1
    assert all(len(body) <= KAFKA_MAX_BYTES for _, _, body in publisher.sent)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tagged=st.lists(lines, max_size=8), crlf=st.booleans())
async def test_a_replay_file_publishes_every_valid_line_around_bad_ones(
    tmp_path: Path, tagged: list[tuple[str, bytes]], crlf: bool
) -> None:
    # Garbage lines must stay single lines for the count to be known; valid JSON never has one.
    tagged = [(tag, line.replace(b"\n", b" ").replace(b"\r", b" ")) for tag, line in tagged]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line + (b"\r\n" if crlf else b"\n") for _, line in tagged))
    publisher = KafkaSizedPublisher()
    published, skipped = await replay_vk_file(path, ingestor(publisher))
    non_blank = [(tag, line) for tag, line in tagged if line.strip()]
    assert published == sum(tag == "valid" for tag, _ in non_blank)
    assert published + skipped == len(non_blank)
    assert len(publisher.messages()) == published
    assert len(publisher.letters()) == sum(tag == "poison" for tag, _ in non_blank)


async def test_a_megabyte_text_is_dead_lettered_and_its_letter_still_fits_a_record() -> None:
    publisher = KafkaSizedPublisher()
    text = big_text("\x01", MEGABYTE)  # escaped as \\u0001 in JSON: six bytes a character
    event = {"type": "wall_post_new", "group_id": GROUP,
             "object": {"id": 1, "owner_id": -GROUP, "text": text}}  # fmt: skip
    assert await ingestor(publisher).on_events([event]) == 0
    [letter] = publisher.letters()
    assert "text" in letter.reason
    assert all(len(body) <= KAFKA_MAX_BYTES for _, _, body in publisher.sent)
    assert publisher.on(Topic.RAW_MESSAGES) == []
