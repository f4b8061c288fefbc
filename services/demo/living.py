"""The demo's sample moved in time so that it ends in the week before today: the queue then
shows what a moderator's queue shows — fresh messages, ones nearing their deadline and overdue
ones — instead of a museum of incidents all overdue by months.

The shift is a whole number of weeks, so every message keeps its weekday and hour: what was
written on a Friday evening still waits for Monday (public holidays may fall differently)."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

WEEK_SECONDS = 7 * 24 * 3600


def shift_seconds(last: int, now: int) -> int:
    """Whole weeks that bring ``last`` (a Unix time) into the seven days up to ``now``."""
    return (now - last) // WEEK_SECONDS * WEEK_SECONDS


def _shifted(value: Any, seconds: int) -> Any:
    # VK calls every Unix time of an object "date" (a comment, a post, a message).
    if isinstance(value, dict):
        return {
            key: item + seconds
            if key == "date" and isinstance(item, int) and not isinstance(item, bool)
            else _shifted(item, seconds)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_shifted(item, seconds) for item in value]
    return value


def _dates(value: Any) -> list[int]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "date" and isinstance(v, int)]
        return found + [d for v in value.values() for d in _dates(v)]
    if isinstance(value, list):
        return [d for v in value for d in _dates(v)]
    return []


def _parsed(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None  # left as it is: the ingestor dead-letters it with its line number


def living_copy(sample: Path, target: Path, now: datetime) -> int:
    """Write ``sample`` to ``target`` with every VK date moved by whole weeks so that its last
    event falls in the week before ``now``; return the shift in weeks (0 for no dates)."""
    lines = sample.read_text("utf-8").splitlines()
    events = [_parsed(line) for line in lines]
    dates = [d for event in events for d in _dates(event)]
    seconds = shift_seconds(max(dates), int(now.timestamp())) if dates else 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for line, event in zip(lines, events, strict=True):
            moved = (
                line if event is None else json.dumps(_shifted(event, seconds), ensure_ascii=False)
            )
            out.write(moved + "\n")
    return seconds // WEEK_SECONDS
