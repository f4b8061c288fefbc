"""The history file format (``otklik replay``): one JSON object per line, each a timestamped
event of a message's life in a previous system. Pure: parsing and validation only.

    {"at": "2026-09-01T10:00:00+03:00", "event": "message", "message_id": "old-1",
     "channel": "vk", "municipality": "severogorsk", "text": "Яма у дома 5",
     "sentiment": "negative"}
    {"at": "2026-09-01T10:05:00+03:00", "event": "assigned", "message_id": "old-1",
     "actor": "router", "department": "Дороги", "category": "roads"}
    {"at": "2026-09-01T11:00:00+03:00", "event": "claimed", "message_id": "old-1", "actor": "anna"}
    {"at": "2026-09-01T12:00:00+03:00", "event": "answered", "message_id": "old-1", "actor": "anna",
     "text": "Отремонтируем до пятницы", "final": true}
    {"at": "2026-09-02T09:00:00+03:00", "event": "closed", "message_id": "old-1", "actor": "anna"}

Other events: ``rejected`` (reason; also before any assignment), ``reassigned`` (municipality,
department, reason), ``reopened`` (reason), ``source_deleted`` and ``source_restored`` (the
resident deleted or restored the message at the source). The format, with the rules of each
event, is in docs/indicators.md ("Loading a history").

Events are applied in time order (``in_time_order``); equal times keep the file's order.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kernel.contracts.categories import DEPARTMENTS

EventName = Literal[
    "message",
    "assigned",
    "claimed",
    "answered",
    "rejected",
    "reassigned",
    "closed",
    "reopened",
    "source_deleted",
    "source_restored",
]
ID_LENGTH = 200
_REQUIRED: dict[str, tuple[str, ...]] = {
    "message": ("municipality", "text"),
    "answered": ("text",),
    "rejected": ("reason",),
    "reassigned": ("municipality", "reason"),
    "reopened": ("reason",),
}


class HistoryEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: AwareDatetime
    event: EventName
    message_id: str = Field(min_length=1, max_length=300)
    actor: str = Field(default="history", min_length=1, max_length=200)
    channel: Literal["vk", "web", "email", "import"] = "vk"
    # Ids, compared with the policy's and indexed in PostgreSQL (a b-tree row holds < 2,704
    # bytes): a longer one is a broken line, refused with its number before any query.
    municipality: str | None = Field(default=None, min_length=1, max_length=ID_LENGTH)
    department: str | None = Field(default=None, max_length=ID_LENGTH)
    category: str | None = None
    text: str | None = Field(default=None, max_length=100_000)
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    final: bool = True
    reason: str | None = None

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object) -> object:
        """PostgreSQL text holds neither NUL nor unpaired surrogates (valid JSON escapes)."""
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("нулевой байт (\\u0000) в строке")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                raise ValueError("непарный суррогат (\\ud800-\\udfff) в строке") from error
        return value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if value is not None and value not in DEPARTMENTS:
            raise ValueError(
                f"неизвестная категория «{value}»; допустимые: {', '.join(DEPARTMENTS)}"
            )
        return value

    @model_validator(mode="after")
    def _fields_of_the_event(self) -> Self:
        missing = [name for name in _REQUIRED.get(self.event, ()) if not getattr(self, name)]
        if missing:
            raise ValueError(f"событию {self.event} нужны поля: {', '.join(missing)}")
        return self


class HistoryError(ValueError):
    """The history cannot be loaded; lists every bad line with its number."""


def parse_history(lines: Iterable[bytes]) -> list[tuple[int, HistoryEvent]]:
    """Every event with its line number, or HistoryError listing every invalid line."""
    events: list[tuple[int, HistoryEvent]] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append((number, HistoryEvent.model_validate(json.loads(line))))
        except ValueError as error:  # JSONDecodeError and ValidationError
            problems.append(f"строка {number}: {_reason(error)}")
        except RecursionError:
            problems.append(f"строка {number}: не JSON (слишком глубокая вложенность)")
    if problems:
        raise HistoryError("\n".join(problems))
    return events


def in_time_order(events: Sequence[tuple[int, HistoryEvent]]) -> list[tuple[int, HistoryEvent]]:
    """The events sorted by time, a message's own event first among equal times and the file's
    order kept otherwise. Refuses (HistoryError, every line) a message given twice and any event
    dated before its message: a history out of order in the file is fine, one out of order in
    time is not a history."""
    messages: dict[str, tuple[int, datetime]] = {}
    problems: list[str] = []
    for number, event in events:
        if event.event != "message":
            continue
        if event.message_id in messages:
            first = messages[event.message_id][0]
            problems.append(
                f"строка {number}: сообщение {event.message_id} уже есть (строка {first})"
            )
            continue
        messages[event.message_id] = (number, event.at)
    for number, event in events:
        written = messages.get(event.message_id)
        if event.event != "message" and written is not None and event.at < written[1]:
            problems.append(
                f"строка {number}: {event.event} в {event.at.isoformat()} раньше самого сообщения "
                f"{event.message_id} ({written[1].isoformat()}, строка {written[0]})"
            )
    if problems:
        raise HistoryError("\n".join(sorted(problems, key=_line_number)))
    return sorted(events, key=lambda item: (item[1].at, item[1].event != "message"))


def _line_number(problem: str) -> int:
    return int(problem.split()[1].rstrip(":"))


# Pydantic's messages are English; a refusal must read in one language. By error type:
_MESSAGES = {
    "missing": "обязательное поле",
    "extra_forbidden": "неизвестное поле",
    "literal_error": "недопустимое значение; допустимые: {expected}",
    "string_type": "нужна строка",
    "string_too_short": "пустая строка",
    "string_too_long": "слишком длинная строка (не больше {max_length} символов)",
    "bool_type": "нужно true или false",
    "bool_parsing": "нужно true или false",
    "datetime_type": "нужны дата и время ISO 8601 с часовым поясом",
    "datetime_parsing": "нужны дата и время ISO 8601 с часовым поясом",
    "datetime_from_date_parsing": "нужны дата и время ISO 8601 с часовым поясом",
    "timezone_aware": "нужен часовой пояс (например +03:00)",
    "model_type": "нужен JSON-объект",
    "dict_type": "нужен JSON-объект",
}


def _reason(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {_message(e)}" if e["loc"] else _message(e)
            for e in error.errors()
        )
    return f"не JSON ({error})"


def _message(error: Any) -> str:
    """The Russian text of one pydantic error: ours (raised in Russian) as it is."""
    if error["type"] == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else str(error["msg"])
    template = _MESSAGES.get(error["type"], "недопустимое значение")
    context = {k: str(v).replace(" or ", ", ") for k, v in error.get("ctx", {}).items()}
    try:
        return template.format(**context)
    except KeyError:
        return template
