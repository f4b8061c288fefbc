"""The Russian production calendar and working-time arithmetic (pure: no I/O, no clock).

Public holidays and the government's day transfers come from the ``holidays`` package (pinned;
its Russia data lists each transfer as (day off, from day)). A weekend day a holiday was
transferred *from* becomes a working day, e.g. Saturday 2024-04-27. Shortened pre-holiday days
(one hour less) are not in ``holidays``: they are the table below, which the programme team
extends each year from the official calendar (consultant.ru "Производственный календарь").
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from holidays.countries.russia import RussiaStaticHolidays

SHORTENED_DAYS: dict[int, frozenset[date]] = {
    2024: frozenset(
        date(2024, m, d) for m, d in ((2, 22), (3, 7), (4, 27), (5, 8), (6, 11), (11, 2), (12, 28))
    ),
    2025: frozenset(date(2025, m, d) for m, d in ((3, 7), (4, 30), (5, 7), (6, 11), (11, 1))),
    2026: frozenset(date(2026, m, d) for m, d in ((4, 30), (5, 8), (6, 11), (11, 3))),
}
SHORTENING = timedelta(hours=1)


@dataclass(frozen=True)
class YearDays:
    holidays: frozenset[date]
    working_weekends: frozenset[date]


@cache
def _year(year: int) -> YearDays:
    days_off = frozenset(holidays.country_holidays("RU", years=year))
    # (day off month, day, from month, from day): the "from" day is a weekend made a working day.
    # Reading the package's table is pinned by holidays==0.109 and checked by the yearly tests.
    specials: tuple[Any, ...] = RussiaStaticHolidays.special_public_holidays.get(year, ())
    entries: tuple[tuple[Any, ...], ...] = (
        specials if specials and isinstance(specials[0], tuple) else (specials,)
    )
    moved_from = {
        date(year, entry[2], entry[3])
        for entry in entries
        if len(entry) == 4 and all(isinstance(part, int) for part in entry)
    }
    working = frozenset(d for d in moved_from if d.weekday() >= 5 and d not in days_off)
    return YearDays(days_off, working)


def is_working_day(day: date) -> bool:
    info = _year(day.year)
    if day in info.working_weekends:
        return True
    return day.weekday() < 5 and day not in info.holidays


def is_shortened(day: date) -> bool:
    """A pre-holiday day one hour shorter; years missing from the table have none."""
    return day in SHORTENED_DAYS.get(day.year, frozenset())


def working_days_in_year(year: int) -> int:
    day, count = date(year, 1, 1), 0
    while day.year == year:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "WorkingHours":
        """'09:00-18:00': local times of the municipality's zone."""
        start, _, end = text.partition("-")
        hours = cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        if hours.start.tzinfo is not None or hours.end.tzinfo is not None:
            raise ValueError(f"время без часового пояса, ЧЧ:ММ-ЧЧ:ММ: {text}")
        if hours.end <= hours.start:
            raise ValueError(f"конец рабочего дня раньше начала: {text}")
        # At least the hour a pre-holiday day is shortened by: a shorter day would leave that day
        # less than nothing, and working hours counted in microseconds never reach a deadline.
        length = datetime.combine(date.min, hours.end) - datetime.combine(date.min, hours.start)
        if length < SHORTENING:
            raise ValueError(f"рабочий день короче часа: {text}")
        return hours


@dataclass(frozen=True)
class WorkingClock:
    """Working time of one municipality: its hours and zone on the production calendar."""

    hours: WorkingHours
    zone: ZoneInfo

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        if not is_working_day(day):
            return None
        opens = datetime.combine(day, self.hours.start, self.zone)
        closes = datetime.combine(day, self.hours.end, self.zone)
        return opens, closes - SHORTENING if is_shortened(day) else closes

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``start`` (counting from the next
        working moment when ``start`` is outside working time)."""
        cursor = _local(start, self.zone)
        remaining = duration
        day = cursor.date()
        while True:
            window = self.interval(day)
            if window is not None and cursor < window[1]:
                begin = max(cursor, window[0])
                if remaining <= window[1] - begin:
                    return begin + remaining
                remaining -= window[1] - begin
            day += timedelta(days=1)
            cursor = datetime.combine(day, time(0), self.zone)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when ``end`` is not after ``start``)."""
        begin, finish = _local(start, self.zone), _local(end, self.zone)
        total = timedelta(0)
        day = begin.date()
        while day <= finish.date():
            window = self.interval(day)
            if window is not None:
                overlap = min(finish, window[1]) - max(begin, window[0])
                total += max(overlap, timedelta(0))
            day += timedelta(days=1)
        return total

    def end_of_working_day(self, start: datetime, days: int) -> datetime:
        """End of the ``days``-th working day after the day of ``start``."""
        day, counted = _local(start, self.zone).date(), 0
        while True:
            day += timedelta(days=1)
            window = self.interval(day)
            if window is not None:
                counted += 1
                if counted == days:
                    return window[1]

    def after_calendar_days(self, start: datetime, days: int) -> datetime:
        """59-FZ style: ``days`` calendar days after ``start``; when that lands on a non-working
        day, the end of the next working day."""
        target = _local(start, self.zone) + timedelta(days=days)
        if self.interval(target.date()) is not None:
            return target
        return self.end_of_working_day(target, 1)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("время без часового пояса")
    return moment.astimezone(zone)
