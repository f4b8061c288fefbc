"""What a notification says and when a digest goes out (pure: no I/O, no clock)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEADLINE_WARNING, OVERDUE, ANSWER_FAILED = "deadline_warning", "overdue", "answer_failed"
# The incident events people are told of; their values are EventType's (kernel.contracts).
KINDS = (DEADLINE_WARNING, OVERDUE, ANSWER_FAILED)
KIND_LABELS = {
    DEADLINE_WARNING: "скоро срок ответа",
    OVERDUE: "срок ответа пропущен",
    ANSWER_FAILED: "ответ не доставлен во ВКонтакте",
}
EMAIL, TELEGRAM = "email", "telegram"


@dataclass(frozen=True)
class Item:
    """One thing to tell: an incident and what happened to it."""

    kind: str
    number: str
    municipality: str  # its name
    category: str | None
    due: datetime | None  # the final answer's deadline, if any
    reason: str | None = None  # why VK refused the answer (answer_failed)


def _line(item: Item, zone: ZoneInfo) -> str:
    what = KIND_LABELS.get(item.kind, item.kind)
    if item.reason:
        what += f" ({item.reason})"
    parts = [f"{item.number}: {what}", item.municipality]
    if item.category:
        parts.append(item.category)
    if item.due is not None:
        parts.append("срок " + item.due.astimezone(zone).strftime("%d.%m.%Y %H:%M"))
    return " — ".join(parts)


def single(item: Item, zone: ZoneInfo) -> tuple[str, str]:
    """Subject and text of an immediate notification."""
    subject = f"Отклик: {item.number} — {KIND_LABELS.get(item.kind, item.kind)}"
    return subject, _line(item, zone) + "\n"


def digest(items: Sequence[Item], day: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """Subject and text of a day's digest: one line per item, in the order given."""
    date = day.astimezone(zone).strftime("%d.%m.%Y")
    subject = f"Отклик: сводка за {date} ({len(items)})"
    lines = [f"Сводка уведомлений за {date}:", ""] + [f"• {_line(i, zone)}" for i in items]
    return subject, "\n".join(lines) + "\n"


def next_digest(now: datetime, hour: int, zone: ZoneInfo) -> datetime:
    """The next moment the local clock of ``zone`` shows ``hour``:00, after ``now``."""
    local = now.astimezone(zone)
    moment = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if moment <= local:
        moment = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return moment
