"""The demo's sample moved by whole weeks to end in the week before today."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.bundled import DEMO_DATA
from services.demo.living import living_copy, shift_seconds

SAMPLE = DEMO_DATA / "vk_sample.jsonl"
NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def dates(path: Path) -> list[int]:
    found = []
    for line in path.read_text("utf-8").splitlines():
        event = json.loads(line)["object"]
        found += [d for d in (event.get("date"), event.get("message", {}).get("date")) if d]
    return found


def test_the_last_event_lands_in_the_week_before_now_on_its_weekday() -> None:
    for last in (NOW - timedelta(days=95), NOW - timedelta(hours=1), NOW, NOW + timedelta(days=9)):
        moved = last.timestamp() + shift_seconds(int(last.timestamp()), int(NOW.timestamp()))
        assert NOW - timedelta(days=7) < datetime.fromtimestamp(moved, UTC) <= NOW, last
        assert datetime.fromtimestamp(moved, UTC).strftime("%a %H:%M") == last.strftime("%a %H:%M")


def test_the_bundled_sample_is_moved_whole_and_nothing_else_changes(tmp_path: Path) -> None:
    target = tmp_path / "living.jsonl"
    weeks = living_copy(SAMPLE, target, NOW)
    before, after = dates(SAMPLE), dates(target)
    assert weeks > 0 and len(after) == len(before) == 398
    assert {b - a for a, b in zip(before, after, strict=True)} == {weeks * 7 * 86400}
    assert NOW - timedelta(days=7) < datetime.fromtimestamp(max(after), UTC) <= NOW
    # Texts, ids and everything but the dates are as recorded.
    for old, new in zip(
        SAMPLE.read_text("utf-8").splitlines(), target.read_text("utf-8").splitlines(), strict=True
    ):
        a, b = json.loads(old), json.loads(new)
        a["object"].pop("date", None), b["object"].pop("date", None)
        a["object"].get("message", {}).pop("date", None)
        b["object"].get("message", {}).pop("date", None)
        assert a == b


def test_a_line_that_is_not_json_is_kept_for_the_dead_letters(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text('{"type": "x", "object": {"date": 1788241207}}\n{broken\n', "utf-8")
    living_copy(sample, tmp_path / "out.jsonl", NOW)
    assert (tmp_path / "out.jsonl").read_text("utf-8").splitlines()[1] == "{broken"
