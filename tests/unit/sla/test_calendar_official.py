"""The production calendar against its sources: the vendored xmlcalendar files read by a parser
of this test's own, day by day for every year shipped; the ``holidays`` package as a second,
independent source; the official yearly norms of working time; and a year with no calendar,
refused with a reason that reaches the dead-letter topic instead of stopping the stage."""

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from holidays.countries.russia import RussiaStaticHolidays

from kernel.bus import delivery
from kernel.bus.delivery import deliver
from kernel.bus.memory import RecordingPublisher
from kernel.bus.port import Subscription
from kernel.contracts.messages import RawMessage
from kernel.contracts.topics import Topic
from kernel.observability import Metrics
from sla.domain import calendar
from sla.domain.calendar import (
    CalendarYearMissingError,
    ProductionCalendar,
    WorkingClock,
    WorkingHours,
    is_shortened,
    is_working_day,
    parse_calendar,
    working_days_in_year,
    working_hours_norm,
    year_norm,
)
from sla.domain.policy import load_policy
from tests.factories import raw_message

DATA = Path(calendar.__file__).parent / "production_calendar"
YEARS = range(2020, 2028)  # the years the SLA must have (issue 17); older ones are shipped too
SHIPPED = range(2013, 2028)
MOSCOW = ZoneInfo("Europe/Moscow")
NINE_TO_SIX = WorkingClock(WorkingHours.parse("09:00-18:00"), MOSCOW)
DAY = re.compile(r'<day d="(\d\d)\.(\d\d)" t="([123])"')


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def from_file(year: int) -> dict[date, str]:
    """Day -> type as the file lists them: a regular expression, not the code's XML parser."""
    text = (DATA / f"ru-{year}.xml").read_text(encoding="utf-8")
    return {date(year, int(m), int(d)): t for m, d, t in DAY.findall(text)}


def test_the_shipped_years_are_2013_to_2027() -> None:
    assert calendar.known_years() == tuple(SHIPPED)
    assert calendar.last_year() == 2027
    assert sorted(p.name for p in DATA.glob("*.xml")) == [f"ru-{y}.xml" for y in SHIPPED]


@pytest.mark.parametrize("year", range(2013, 2027))
def test_the_vendored_files_are_upstreams_byte_for_byte(year: int) -> None:
    """The git blob id, as upstream's tree lists it, is in SOURCES.md beside the file."""
    content = (DATA / f"ru-{year}.xml").read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    assert f"| ru-{year}.xml | {blob} |" in (DATA / "SOURCES.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("year", SHIPPED)
def test_every_day_is_what_the_official_file_says(year: int) -> None:
    listed = from_file(year)
    days = days_of(year)
    for day in days:
        kind = listed.get(day)
        working = kind in ("2", "3") or (kind is None and day.weekday() < 5)
        assert is_working_day(day) is working, day
        assert is_shortened(day) is (kind == "2"), day
    assert len(days) == (366 if year % 4 == 0 else 365)


# Days off by presidential decree (COVID-19, the Victory parade, the constitutional vote): in
# the files and in the SLA's arithmetic, not in the Labour Code or the Government's transfers.
DECREE_DAYS_OFF = {
    *(date(2020, 3, d) for d in (30, 31)),
    *(date(2020, 4, d) for d in range(1, 31) if date(2020, 4, d).weekday() < 5),
    *(date(2020, 5, d) for d in (6, 7, 8)),
    date(2020, 6, 24),
    date(2020, 7, 1),
    *(date(2021, 5, d) for d in (4, 5, 6, 7)),
    *(date(2021, 11, d) for d in (1, 2, 3)),
}


@pytest.mark.parametrize("year", YEARS)
def test_days_off_agree_with_the_holidays_package_but_for_decree_days(year: int) -> None:
    days_off = holidays.country_holidays("RU", years=year)
    transfers: Any = RussiaStaticHolidays.special_public_holidays.get(year, ())
    # (day off month, day, from month, from day); one transfer alone is not in a tuple
    entries = transfers if transfers and isinstance(transfers[0], tuple) else (transfers,)
    moved_from = {date(year, e[2], e[3]) for e in entries if len(e) == 4}
    working_weekends = {d for d in moved_from if d.weekday() >= 5 and d not in days_off}
    differ = {
        day
        for day in days_of(year)
        if is_working_day(day)
        is ((day in days_off or day.weekday() >= 5) and day not in working_weekends)
    }
    assert differ == {d for d in DECREE_DAYS_OFF if d.year == year}


# Official 40-hour norms (the Ministry of Labour's calendars; 588n); working days of the norm
# count decree days off as working. Deadline days are fewer in 2020 and 2021 by those days.
NORMS = {
    # year: (norm days, shortened days of the norm, hours at 40, at 36, at 24, deadline days)
    2013: (247, 6, 1970, "1772.4", "1179.6", 247),
    2014: (247, 6, 1970, "1772.4", "1179.6", 247),
    2015: (247, 5, 1971, "1773.4", "1180.6", 247),
    2016: (247, 2, 1974, "1776.4", "1183.6", 247),
    2017: (247, 3, 1973, "1775.4", "1182.6", 247),
    2018: (247, 6, 1970, "1772.4", "1179.6", 247),
    2019: (247, 6, 1970, "1772.4", "1179.6", 247),
    2020: (248, 5, 1979, "1780.6", "1185.4", 219),
    2021: (247, 4, 1972, "1774.4", "1181.6", 240),
    2022: (247, 3, 1973, "1775.4", "1182.6", 247),
    2023: (247, 3, 1973, "1775.4", "1182.6", 247),
    2024: (248, 5, 1979, "1780.6", "1185.4", 248),
    2025: (247, 4, 1972, "1774.4", "1181.6", 247),
    2026: (247, 4, 1972, "1774.4", "1181.6", 247),
    2027: (247, 4, 1972, "1774.4", "1181.6", 247),
}


@pytest.mark.parametrize("year", SHIPPED)
def test_yearly_norms_of_working_time(year: int) -> None:
    days, shortened, forty, thirty_six, twenty_four, deadline_days = NORMS[year]
    norm = year_norm(year)
    assert (norm.working_days, norm.shortened_days) == (days, shortened)
    assert working_hours_norm(year) == forty
    assert norm.hours(36) == Decimal(thirty_six)
    assert norm.hours(24) == Decimal(twenty_four)
    assert working_days_in_year(year) == deadline_days


def test_a_week_of_more_than_forty_hours_has_no_norm() -> None:
    with pytest.raises(ValueError, match="от 0 до 40"):
        year_norm(2025).hours(41)


@pytest.mark.parametrize(
    "day",
    [date(2024, 4, 27), date(2024, 12, 28), date(2025, 5, 7)],
    ids=["saturday-2024-04-27", "saturday-2024-12-28", "wednesday-2025-05-07"],
)
def test_the_days_the_old_table_shortened_are_full_working_days(day: date) -> None:
    assert is_working_day(day) and not is_shortened(day)
    evening_before = datetime.combine(day - timedelta(days=1), datetime.min.time(), MOSCOW)
    evening_before = evening_before.replace(hour=18)
    # nine working hours from the previous evening: the whole day, to its 18:00
    deadline = NINE_TO_SIX.add(evening_before, timedelta(hours=9))
    assert deadline == datetime(day.year, day.month, day.day, 18, tzinfo=MOSCOW)


def test_a_year_without_a_calendar_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarYearMissingError, match="нет производственного календаря на 2028"):
        is_working_day(date(2028, 3, 1))
    with pytest.raises(CalendarYearMissingError, match=r"ru-2012\.xml"):
        working_days_in_year(2012)
    last_evening = datetime(2027, 12, 30, 17, tzinfo=MOSCOW)
    assert NINE_TO_SIX.add(last_evening, timedelta(hours=1)) == last_evening + timedelta(hours=1)
    with pytest.raises(CalendarYearMissingError) as refused:
        NINE_TO_SIX.add(last_evening, timedelta(hours=2))  # 31 December is a day off
    assert refused.value.year == 2028
    assert isinstance(refused.value, ValueError)


def test_a_year_can_be_added_from_a_file_of_the_same_format() -> None:
    text = (DATA / "ru-2027.xml").read_bytes().replace(b'year="2027"', b'year="2033"')
    year = parse_calendar(text)  # 2033 starts on a Saturday: only the parsing is checked here
    extra = ProductionCalendar([year])
    assert extra.years() == (2033,)
    assert date(2033, 2, 20) in extra.year(2033).shortened
    with pytest.raises(CalendarYearMissingError):
        extra.year(2027)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"<calendar", "не XML"),
        (b'<calendar year="x"/>', "ожидается <calendar"),
        (b'<calendar year="2027"><days><day d="02.30" t="1"/></days></calendar>', "нет дня"),
        (b'<calendar year="2027"><days><day d="2.3" t="1"/></days></calendar>', "ММ.ДД"),
        (b'<calendar year="2027"><days><day d="03.01" t="4"/></days></calendar>', "тип дня"),
        (b'<calendar year="2027"><days><day d="03.01" t="3"/></days></calendar>', "t=3"),
        (b'<calendar year="2027"><days><day d="03.01" t="1" h="9"/></days></calendar>', "h='9'"),
    ],
)
def test_a_damaged_file_is_refused_with_its_problem(text: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_calendar(text)


POLICY = load_policy("""
version: "t"
rules:
  - match: {}
    first_response: {working_hours: 8}
    final_answer: {working_days: 10}
""")


@pytest.fixture
def no_back_off_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instantly(*_: object) -> None:
        return None

    monkeypatch.setattr(delivery, "_back_off", instantly)


async def test_a_deadline_in_a_year_without_a_calendar_is_dead_lettered_with_the_reason(
    no_back_off_wait: None,
) -> None:
    """The SLA stage computes deadlines in its handler (IncidentService._opening); the error is
    a ValueError like any bad input: the message goes to the dead-letter topic with the reason
    and is acknowledged, the stage goes on with the next."""
    opened: list[str] = []

    async def open_incident(message: RawMessage) -> None:
        POLICY.deadlines(
            channel=message.channel.value,
            category=None,
            municipality=message.municipality or "",
            start=message.created_at,
        )
        opened.append(message.message_id)

    subscription = Subscription(Topic.RAW_MESSAGES, "sla", RawMessage, open_incident)
    publisher, metrics = RecordingPublisher(), Metrics()
    late = raw_message(1, created_at=datetime(2027, 12, 24, 9, tzinfo=UTC))  # 10 days: 2028
    fine = raw_message(2, created_at=datetime(2027, 12, 1, 9, tzinfo=UTC))
    for message in (late, fine):
        await deliver(subscription, message.model_dump_json().encode(), publisher, metrics)
    assert opened == [fine.message_id]
    [letter] = publisher.letters()
    assert letter.payload == late.model_dump_json()
    assert "CalendarYearMissingError: нет производственного календаря на 2028 год" in letter.reason
    assert metrics.registry.get_sample_value("otklik_dead_letters_total", {"stage": "sla"}) == 1
