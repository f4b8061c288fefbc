"""Pure parts of the web interface: deadline urgency and countdown, number formatting, safe
links, chart geometry, and the change cursor behind the live queue."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kernel.contracts.categories import Category
from kernel.contracts.incidents import EventType, Status
from services.web.ui import labels
from services.web.ui.charts import line_chart, nice_ceiling
from services.web.ui.formatting import (
    countdown,
    next_due,
    number,
    on_time_words,
    safe_url,
    urgency,
)
from services.web.ui.pages import local_path
from sla.storage.changes import OVERLAP, Change, ChangeCursor

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "css", "text"),
    [
        (timedelta(minutes=-90), "overdue", "просрочено на 1 ч 30 мин"),
        (timedelta(hours=1, minutes=59), "urgent", "через 1 ч 59 мин"),
        (timedelta(hours=2), "urgent", "через 2 ч 0 мин"),
        (timedelta(hours=7), "soon", "через 7 ч 0 мин"),
        (timedelta(days=3, hours=4), "calm", "через 3 дн 4 ч"),
        (timedelta(seconds=20), "urgent", "через менее минуты"),
    ],
)
def test_urgency_and_countdown(left: timedelta, css: str, text: str) -> None:
    assert urgency(NOW + left, NOW) == css
    assert countdown(NOW + left, NOW) == text


def test_nothing_due_is_met() -> None:
    assert (urgency(None, NOW), countdown(None, NOW)) == ("met", "сроки выполнены")


def test_next_due_follows_the_clock_still_running() -> None:
    first, final = NOW + timedelta(hours=8), NOW + timedelta(days=7)
    incident = {"first_response_due": first, "final_answer_due": final}
    assert next_due(incident) == first
    assert next_due({**incident, "first_response_at": NOW}) == final
    assert next_due({**incident, "first_response_at": NOW, "final_answer_at": NOW}) is None


def test_numbers_are_russian() -> None:
    assert number(10004, 0) == "10 004"
    assert number(0.2171, 3) == "0,217"
    assert number(95.0, 1) == "95"
    assert number(None) == "нет данных"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://vk.com/wall-1_2?reply=3", "https://vk.com/wall-1_2?reply=3"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>", None),
        (None, None),
    ],
)
def test_only_http_links_are_rendered(url: str | None, shown: str | None) -> None:
    assert safe_url(url) == shown


@pytest.mark.parametrize(
    ("candidate", "kept"),
    [
        ("/queue?status=all", "/queue?status=all"),
        ("//evil.example/", "/queue"),
        ("https://evil.example/", "/queue"),
        ("/\\evil.example", "/queue"),
        (None, "/queue"),
    ],
)
def test_next_after_login_stays_on_this_site(candidate: str | None, kept: str) -> None:
    assert local_path(candidate) == kept


def test_a_month_without_data_breaks_the_line() -> None:
    chart = line_chart(
        "A_2", ["янв", "фев", "мар", "апр"], [("Северогорск", [0.5, None, 0.25, 1.0])], plan=1.0
    )
    (line,) = chart.lines
    assert len(line.segments) == 2 and len(line.points) == 3
    assert line.segments[1].count(",") == 2  # март and апрель joined, январь alone
    assert chart.plan_y == min(point.y for point in line.points)  # the plan at A_2 = 1
    assert line.points[0].title == "Северогорск, янв: 0,5 "


def test_an_empty_year_says_so() -> None:
    assert not line_chart("A_2", ["янв"], [("Заречный", [None])]).has_data


@pytest.mark.parametrize(("value", "top"), [(0.9, 1.0), (1.1, 2.0), (23.0, 25.0), (0, 1.0)])
def test_axis_maximum(value: float, top: float) -> None:
    assert nice_ceiling(value) == top


def test_the_cursor_reports_each_change_once_and_tolerates_late_commits() -> None:
    cursor = ChangeCursor(NOW)
    first = [Change("a", "assigned", NOW + timedelta(seconds=1))]
    assert cursor.take(first) == first
    assert cursor.take(first) == []  # asked again within the overlap: not repeated
    assert cursor.query_from == NOW + timedelta(seconds=1) - OVERLAP
    late = Change("b", "assigned", NOW)  # committed after "a" though it started earlier
    assert cursor.take([late, *first]) == [late]
    again = Change("a", "in_work", NOW + timedelta(seconds=5))
    assert cursor.take([again]) == [again]


def test_every_status_event_and_category_of_the_contracts_has_a_russian_name() -> None:
    assert set(labels.STATUSES) == set(Status)
    assert set(labels.EVENTS) == set(EventType)
    assert set(labels.CATEGORIES) == set(Category)
    assert labels.OPEN_STATUSES == ("new", "assigned", "in_work", "answered")


def test_on_time_is_told_in_local_times_naming_the_missed_deadline() -> None:
    zone = ZoneInfo("Asia/Yekaterinburg")
    due = datetime(2026, 9, 2, 7, 0, tzinfo=UTC)
    late = {
        "on_time": False, "first_response_due": due, "first_response_at": due + timedelta(hours=3),
        "final_answer_due": due + timedelta(days=5), "final_answer_at": due + timedelta(days=1),
    }  # fmt: skip
    assert (
        on_time_words(late, zone) == "первый ответ дан 02.09.2026 15:00 при сроке 02.09.2026 12:00"
    )
    assert on_time_words({**late, "on_time": None}, zone) == ""
    met = {**late, "first_response_at": due, "on_time": True}
    assert on_time_words(met, zone) == "оба срока соблюдены"
