from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from kernel.contracts.classification import ClassifiedMessage, Decision, Sentiment
from kernel.contracts.deadletters import DeadLetter
from kernel.contracts.incidents import IncidentEvent
from kernel.contracts.indicators import IndicatorRecord
from kernel.contracts.messages import (
    Author,
    Channel,
    RawMessage,
    SourceKind,
    VkRef,
    appeal_message_id,
    parse_vk_message_id,
    vk_message_id,
)
from kernel.contracts.topics import Topic, topic_name

NOW = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)


def raw() -> RawMessage:
    return RawMessage(
        message_id=vk_message_id(SourceKind.VK_COMMENT, -1, 2, 3),
        source_kind=SourceKind.VK_COMMENT,
        channel=Channel.VK,
        source_id="vk:-1",
        thread_key="vk:wall-1_2",
        author=Author(ref="vk:id5", name="Анна"),
        text="Нет горячей воды 🤬",
        created_at=NOW,
        municipality="severogorsk",
        received_at=NOW,
    )


SAMPLES: list[BaseModel] = [
    raw(),
    ClassifiedMessage(
        message=raw(),
        decision=Decision(
            is_incident=True,
            score=0.93,
            threshold=0.4,
            category="housing",
            sentiment=Sentiment.NEGATIVE,
            model_version="v1",
            explanation=("вода",),
        ),
    ),
    IncidentEvent(
        event_id="inc-1:1",
        incident_id="inc-1",
        seq=1,
        type="opened",
        status="new",
        actor="classifier",
        at=NOW,
        municipality="severogorsk",
        data={"score": 0.93},
    ),
    IndicatorRecord(
        municipality="severogorsk",
        month="2026-09",
        revision=1,
        computed_at=NOW,
        n_assigned=0,
        n_handled_on_time=0,
        ratio=None,
        k_ob=None,
        a2=None,
        threshold_t=150,
        share_processed=None,
        share_negative=None,
        n_messages=0,
        n_negative=0,
        n_positive_neutral=0,
    ),
    DeadLetter(dead_letter_id="x", stage="ingest", reason="not JSON", payload="{", failed_at=NOW),
]


@pytest.mark.parametrize("model", SAMPLES, ids=lambda m: type(m).__name__)
def test_json_round_trip(model: BaseModel) -> None:
    assert type(model).model_validate_json(model.model_dump_json()) == model


def test_ids_are_deterministic_and_distinct() -> None:
    assert vk_message_id(SourceKind.VK_COMMENT, -1, 2, 3) == "vk:vk_comment:-1:2:3"
    assert vk_message_id(SourceKind.VK_COMMENT, -1, 2, 3) != vk_message_id(
        SourceKind.VK_BOARD, -1, 2, 3
    )
    assert appeal_message_id(Channel.EMAIL, "mail", "<a@b>") == "appeal:email:mail:<a@b>"


def test_topic_names_carry_a_version_and_namespace() -> None:
    assert all(topic.value.endswith(".v1") for topic in Topic)
    assert topic_name(Topic.RAW_MESSAGES, "t1.") == "t1.otklik.messages.raw.v1"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError):
        RawMessage.model_validate({**raw().model_dump(), "created_at": "2026-09-01T09:30:00"})


@pytest.mark.parametrize("kind", [k for k in SourceKind if k.startswith("vk_")], ids=str)
def test_a_vk_message_id_parses_back_into_the_ids_it_was_made_of(kind: SourceKind) -> None:
    assert parse_vk_message_id(vk_message_id(kind, -210000001, 77, 5)) == VkRef(
        kind, -210000001, 77, 5
    )


@pytest.mark.parametrize(
    "message_id",
    ["appeal:web:portal:42", "vk:vk_comment:-1:2", "vk:vk_nothing:-1:2:3", "vk:vk_comment:a:2:3",
     "vk:vk_comment:-1:2:3:4", ""],
)  # fmt: skip
def test_anything_else_is_not_a_vk_message_id(message_id: str) -> None:
    assert parse_vk_message_id(message_id) is None
