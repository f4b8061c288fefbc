"""Jinja filters and the urgency of a deadline (pure). The same thresholds drive the colour the
server renders and the countdown the browser keeps updating (static/app.js, ``URGENCY``)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sla.domain.local_time import local_text

# The policy's default warning lead is 2 hours; a working day is 8.
URGENT = timedelta(hours=2)
SOON = timedelta(hours=8)


def urgency(due: datetime | None, now: datetime) -> str:
    """CSS class of a deadline: overdue, urgent, soon, calm; met when nothing is due."""
    if due is None:
        return "met"
    left = due - now
    if left < timedelta(0):
        return "overdue"
    if left <= URGENT:
        return "urgent"
    return "soon" if left <= SOON else "calm"


def countdown(due: datetime | None, now: datetime) -> str:
    """«через 3 ч 20 мин», «просрочено на 2 дн 4 ч», «сроки выполнены»."""
    if due is None:
        return "сроки выполнены"
    left = due - now
    span = _span(abs(left))
    return f"просрочено на {span}" if left < timedelta(0) else f"через {span}"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} дн {hours} ч"
    if hours:
        return f"{hours} ч {mins} мин"
    return f"{max(mins, 1)} мин" if minutes else "менее минуты"


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return local_text(moment, zone)


def number(value: float | None, digits: int = 2) -> str:
    """Russian decimal comma, thin groups; «нет данных» for a missing value."""
    if value is None:
        return "нет данных"
    text = f"{value:,.{digits}f}".replace(",", " ").replace(".", ",")
    return text.removesuffix("," + "0" * digits) if digits else text


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are rendered: autoescaping does not stop a ``javascript:`` URL."""
    if not url:
        return None
    return url if urlsplit(url).scheme in {"http", "https"} else None


def excerpt(text: str, length: int = 180) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def next_due(incident: Mapping[str, Any]) -> datetime | None:
    """The deadline still to be met (as sla.queue orders by): first response, then final."""
    if incident.get("first_response_at") is None:
        due: datetime | None = incident.get("first_response_due")
        return due
    if incident.get("final_answer_at") is None:
        final: datetime | None = incident.get("final_answer_due")
        return final
    return None


def percent(score: float | None) -> str:
    return "—" if score is None else f"{round(score * 100)} %"


def on_time_words(incident: Mapping[str, Any], zone: ZoneInfo) -> str:
    """Why an answered incident counts as on time or not, in the reader's zone: which deadline
    was missed, when it was and when the answer came. The stored on_time_reason is the audit's
    wording (UTC, the policy's rule ids); people read this."""
    if incident["on_time"] is None:
        return ""
    late = [
        f"{what} дан {local_text(at, zone)} при сроке {local_text(due, zone)}"
        for what, due, at in (
            ("первый ответ", incident["first_response_due"], incident["first_response_at"]),
            ("окончательный", incident["final_answer_due"], incident["final_answer_at"]),
        )
        if due is not None and at is not None and at > due
    ]
    if late:
        return "; ".join(late)
    return "оба срока соблюдены" if incident["on_time"] else "с опозданием"
