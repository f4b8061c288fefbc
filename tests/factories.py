"""Builders of test inputs shared by the test tiers (VK events, raw and classified messages)."""

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.domain.sources import ImportColumns, Source
from kernel.contracts.classification import ClassifiedMessage, Decision, Sentiment
from kernel.contracts.incidents import Status
from kernel.contracts.messages import (
    Author,
    Channel,
    RawMessage,
    SourceKind,
    vk_message_id,
    vk_thread_key,
)
from sla.domain.lifecycle import Incident
from sla.domain.on_time import Deadlines

GROUP = 210000001
SOURCES_YAML = f"""sources:
  - id: "vk:-{GROUP}"
    name: "Тестовый город"
    kind: vk_group
    group_id: {GROUP}
    managed: true
    municipality: testgrad
"""

# Short, varied resident texts for pipeline tests (not training data: the model never sees them).
TEXTS = (
    "во дворе дома 12 по улице мира третий день не вывозят мусор, вонь страшная",
    "спасибо за новую детскую площадку, дети в восторге",
    "когда отремонтируют дорогу на садовой? колеса уже все пробили",
    "с днем города всех! красивый салют был",
    "в подъезде не работает лифт вторую неделю, управляющая компания не отвечает",
    "продам диван недорого, самовывоз",
    "просим установить пешеходный переход у школы номер 5",
    "кто знает во сколько завтра концерт в парке?",
    "нет горячей воды на ленина 40 уже неделю!!!",
    "отличная погода сегодня, гуляли на набережной",
    "почему автобус 7 не ходит по расписанию? стоим по 40 минут",
    "потерялась собака рыжая, звать рыжик, помогите найти",
)


def vk_comment_event(index: int, start: datetime, text: str | None = None) -> dict[str, Any]:
    post = index // 50 + 1
    return {
        "type": "wall_reply_new",
        "object": {
            "id": index + 1,
            "from_id": 1000 + index % 97,
            "date": int((start + timedelta(minutes=7 * index)).timestamp()),
            "text": text if text is not None else f"{TEXTS[index % len(TEXTS)]} #{index}",
            "post_id": post,
            "owner_id": -GROUP,
            "post_owner_id": -GROUP,
            "parents_stack": [],
            "thread": {"count": 0},
        },
        "group_id": GROUP,
        "event_id": f"{index:040x}",
        "v": "5.199",
    }


def write_vk_events(path: Path, count: int, start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    events = [vk_comment_event(i, start) for i in range(count)]
    random.Random(7).shuffle(events)
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", "utf-8")
    return events


def raw_message(
    item: int,
    *,
    text: str = "Нет воды",
    created_at: datetime | None = None,
    author_id: int = 55,
    official: bool = False,
    reply_to: int | None = None,
) -> RawMessage:
    created = created_at or datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    return RawMessage(
        message_id=vk_message_id(SourceKind.VK_COMMENT, -GROUP, 1, item),
        source_kind=SourceKind.VK_COMMENT,
        channel=Channel.VK,
        source_id=f"vk:-{GROUP}",
        thread_key=vk_thread_key(SourceKind.VK_COMMENT, -GROUP, 1),
        reply_to=None
        if reply_to is None
        else vk_message_id(SourceKind.VK_COMMENT, -GROUP, 1, reply_to),
        author=Author(ref=f"vk:id{author_id}", is_official=official),
        text=text,
        created_at=created,
        municipality="testgrad",
        received_at=created,
    )


def classified(message: RawMessage, *, incident: bool = True) -> ClassifiedMessage:
    official = message.author is not None and message.author.is_official
    decision = (
        None
        if official
        else Decision(
            is_incident=incident,
            score=0.9 if incident else 0.1,
            threshold=0.5,
            category="housing" if incident else None,
            department="ЖКХ" if incident else None,
            sentiment=Sentiment.NEGATIVE if incident else Sentiment.NEUTRAL,
            model_version="test",
        )
    )
    return ClassifiedMessage(message=message, decision=decision)


# --- appeal channels ---------------------------------------------------------------------------

APPEAL_IMPORT_HEADER = ["Номер", "Дата", "Текст обращения", "Заявитель", "Контакт"]


def appeal_source(channel: Channel, **overrides: Any) -> Source:
    """An appeal channel of testgrad: the web reception by default; ``channel`` picks the kind
    (an import channel reads the columns of ``APPEAL_IMPORT_HEADER``)."""
    values: dict[str, Any] = {
        "id": f"appeal:{channel.value}",
        "name": f"Обращения ({channel.value})",
        "kind": "appeal",
        "channel": channel,
        "municipality": "testgrad",
    }
    if channel is Channel.WEB:
        values.update(id="appeal:portal", name="Интернет-приёмная", api_key="portal_key")
    if channel is Channel.IMPORT:
        values["columns"] = ImportColumns(
            external_id="Номер",
            text="Текст обращения",
            created_at="Дата",
            author="Заявитель",
            contact="Контакт",
        )
    values.update(overrides)
    return Source(**values)


# --- SLA incidents for the pure lifecycle tests ------------------------------------------------

SLA_T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
SLA_DEADLINES = Deadlines(
    SLA_T0 + timedelta(hours=8), SLA_T0 + timedelta(days=7), "2026-09", "rules[0]"
)


def sla_incident(status: Status, **fields: Any) -> Incident:
    """An incident of severogorsk's roads department, assigned at SLA_T0, in ``status``."""
    base = Incident("inc-1", "m-1", "vk", "roads", "severogorsk", "Дороги", status=status)
    return replace(base, deadlines=SLA_DEADLINES, assigned_at=SLA_T0, **fields)
