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

Other events: ``rejected`` (reason), ``reassigned`` (municipality, department, reason),
``reopened`` (reason).
"""

import json
from collections.abc import Iterable
from typing import Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

EventName = Literal[
    "message", "assigned", "claimed", "answered", "rejected", "reassigned", "closed", "reopened"
]
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
    municipality: str | None = Field(default=None, min_length=1)
    department: str | None = None
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


def _reason(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'строка'}: {e['msg']}" for e in error.errors()
        )
    return f"не JSON ({error})"
