"""The production calendar and working-time arithmetic, by hand-written examples and by
properties over random instants in four Russian time zones (the calendar against its official
sources, day by day, is test_calendar_official.py)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.domain.calendar import (
    WorkingClock,
    WorkingHours,
    is_shortened,
    is_working_day,
)

MOSCOW = ZoneInfo("Europe/Moscow")
ZONES = [
    ZoneInfo(z)
    for z in ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok")
]
NINE_TO_SIX = WorkingHours(time(9), time(18))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 4, 27), True),  # Saturday made a working day (transfer to 29 April)
        (date(2024, 11, 2), True),
        (date(2024, 12, 28), True),  # Saturday, a full working day (transfer to 30 December)
        (date(2024, 12, 30), False),
        (date(2024, 4, 29), False),  # the day off it was transferred to
        (date(2025, 11, 1), True),
        (date(2025, 5, 2), False),
        (date(2026, 1, 9), False),  # transfer from 3 January
        (date(2026, 12, 31), False),  # transfer from 4 January
        (date(2026, 1, 12), True),
        (date(2026, 3, 9), False),  # 8 March on a Sunday moves to Monday
        (date(2026, 9, 1), True),
        (date(2026, 9, 5), False),
        (date(2020, 4, 15), False),  # a day off by presidential decree (COVID-19)
        (date(2021, 11, 3), False),  # the same, the week before 4 November 2021
    ],
)
def test_transfers_and_holidays(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_shortened_pre_holiday_days() -> None:
    assert is_shortened(date(2024, 11, 2)) and is_shortened(date(2026, 4, 30))
    assert not is_shortened(date(2026, 4, 29)) and not is_shortened(date(2024, 12, 28))
    clock = WorkingClock(NINE_TO_SIX, MOSCOW)
    assert clock.interval(date(2026, 4, 30)) == (
        datetime(2026, 4, 30, 9, tzinfo=MOSCOW),
        datetime(2026, 4, 30, 17, tzinfo=MOSCOW),
    )


def test_friday_evening_plus_eight_working_hours_is_monday_afternoon() -> None:
    clock = WorkingClock(NINE_TO_SIX, MOSCOW)
    friday = datetime(2026, 9, 4, 17, 30, tzinfo=MOSCOW)
    assert clock.add(friday, timedelta(hours=8)) == datetime(2026, 9, 7, 16, 30, tzinfo=MOSCOW)


def test_new_years_eve_complaint_waits_for_the_first_working_day_of_january() -> None:
    clock = WorkingClock(NINE_TO_SIX, MOSCOW)
    eve = datetime(2026, 12, 31, 11, 0, tzinfo=MOSCOW)
    assert clock.add(eve, timedelta(hours=1)) == datetime(2027, 1, 11, 10, 0, tzinfo=MOSCOW)
    assert clock.end_of_working_day(eve, 1) == datetime(2027, 1, 11, 18, 0, tzinfo=MOSCOW)


def test_calendar_days_landing_on_a_weekend_move_to_the_next_working_day() -> None:
    clock = WorkingClock(NINE_TO_SIX, MOSCOW)
    start = datetime(2026, 9, 7, 12, 0, tzinfo=MOSCOW)  # + 30 days = Wednesday 7 October
    assert clock.after_calendar_days(start, 30) == datetime(2026, 10, 7, 12, 0, tzinfo=MOSCOW)
    saturday_target = datetime(2026, 9, 3, 12, 0, tzinfo=MOSCOW)  # + 30 days = Saturday 3 Oct
    assert clock.after_calendar_days(saturday_target, 30) == datetime(
        2026, 10, 5, 18, 0, tzinfo=MOSCOW
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="часового пояса"):
        WorkingClock(NINE_TO_SIX, MOSCOW).add(datetime(2026, 9, 1, 10), timedelta(hours=1))


def test_working_hours_parse_and_refuse_an_inverted_day() -> None:
    assert WorkingHours.parse("08:00-17:00") == WorkingHours(time(8), time(17))
    with pytest.raises(ValueError, match="раньше начала"):
        WorkingHours.parse("18:00-09:00")


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
)
# Up to 3,600 working hours: from the last instant, still inside the calendar's last year.
durations = st.integers(min_value=0, max_value=60 * 60 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(start=instants, duration=durations, zone=st.sampled_from(ZONES))
def test_elapsed_inverts_add(start: datetime, duration: timedelta, zone: ZoneInfo) -> None:
    clock = WorkingClock(NINE_TO_SIX, zone)
    assert clock.elapsed(start, clock.add(start, duration)) == duration


@settings(max_examples=200, deadline=None)
@given(start=instants, a=durations, b=durations, zone=st.sampled_from(ZONES))
def test_longer_duration_never_gives_an_earlier_deadline(
    start: datetime, a: timedelta, b: timedelta, zone: ZoneInfo
) -> None:
    clock = WorkingClock(NINE_TO_SIX, zone)
    shorter, longer = sorted((a, b))
    assert clock.add(start, shorter) <= clock.add(start, longer)


@settings(max_examples=200, deadline=None)
@given(
    start=instants,
    duration=durations.filter(lambda d: d > timedelta(0)),
    zone=st.sampled_from(ZONES),
)
def test_deadlines_fall_inside_working_time(
    start: datetime, duration: timedelta, zone: ZoneInfo
) -> None:
    clock = WorkingClock(NINE_TO_SIX, zone)
    deadline = clock.add(start, duration)
    window = clock.interval(deadline.date())
    assert window is not None
    assert window[0] < deadline <= window[1]
    assert deadline.tzinfo == zone
