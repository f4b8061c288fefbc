"""The Russian production calendar and working-time arithmetic (pure: no clock; it reads only
its own package data, once, at import).

The calendar is the official one in xmlcalendar's machine-readable format, one file a year in
``production_calendar/`` (package data, read once through importlib.resources; SOURCES.md there
says where each file comes from). A day the file does not list is a working day on Monday to
Friday and a day off on Saturday and Sunday; a listed day is ``t="1"`` a day off, ``t="2"`` a
working pre-holiday day one hour shorter (Labour Code art. 95), ``t="3"`` a working Saturday or
Sunday. Days off declared by presidential decree (2020, 2021) are days off here as in the file:
deadlines do not run through them; only the yearly norm of working hours ignores them
(``year_norm``). A year without a file is refused (``CalendarYearMissingError``), never counted
as a year without holidays.
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from zoneinfo import ZoneInfo

SHORTENING = timedelta(hours=1)
# xmlcalendar names a day off declared by presidential decree ("Нерабочие дни (Указ Президента от
# 02.04.2020 №239)") by a holiday whose title cites the decree; the Labour Code's holidays and the
# Government's transfers never do.
DECREE_MARK = "Указ Президента"
_DATA = "production_calendar"
_FILE = re.compile(r"^ru-(\d{4})\.xml$")
_DAY = re.compile(r"^(\d{2})\.(\d{2})$")


class CalendarYearMissingError(ValueError):
    """No production calendar for the year: a deadline there cannot be computed."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"нет производственного календаря на {year} год: добавьте файл ru-{year}.xml "
            "(формат xmlcalendar) в sla/domain/production_calendar/ "
            "(docs/sla-policy.md, «Производственный календарь»)"
        )
        self.year = year


@dataclass(frozen=True)
class CalendarYear:
    """One year of the calendar as its file says it."""

    year: int
    days_off: frozenset[date]  # t=1: holidays, transfers, decree days off
    shortened: frozenset[date]  # t=2: working, one hour shorter
    working_weekends: frozenset[date]  # t=2 or t=3 on a Saturday or Sunday
    decree_days_off: frozenset[date]  # t=1 days off by presidential decree
    labour_code_holidays: frozenset[date]  # t=1 days naming a holiday that is not a decree

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.days_off


def _fail(year: object, problem: str) -> ValueError:
    return ValueError(f"производственный календарь {year}: {problem}")


def _day(year: int, text: str) -> date:
    found = _DAY.match(text)
    if found is None:
        raise _fail(year, f"день {text!r} не в формате ММ.ДД")
    try:
        return date(year, int(found.group(1)), int(found.group(2)))
    except ValueError as error:
        raise _fail(year, f"нет дня {text!r}") from error


def parse_calendar(text: str | bytes) -> CalendarYear:
    """One xmlcalendar file (https://github.com/xmlcalendar/data); ValueError names the
    problem."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - our own package data or the admin's files
    except ET.ParseError as error:
        raise _fail("?", f"не XML ({error})") from error
    year_text = root.get("year", "")
    if root.tag != "calendar" or not year_text.isdigit():
        raise _fail("?", 'ожидается <calendar year="ГГГГ">')
    year = int(year_text)
    titles = {h.get("id"): h.get("title", "") for h in root.iterfind("holidays/holiday")}
    days: dict[str, set[date]] = {"off": set(), "short": set(), "weekend": set(), "decree": set()}
    days["holiday"] = set()
    for element in root.iterfind("days/day"):
        _read_day(year, element, titles, days)
    return CalendarYear(
        year,
        frozenset(days["off"]),
        frozenset(days["short"]),
        frozenset(days["weekend"]),
        frozenset(days["decree"]),
        frozenset(days["holiday"]),
    )


def _read_day(
    year: int, element: ET.Element, titles: dict[str | None, str], days: dict[str, set[date]]
) -> None:
    text, kind, holiday = element.get("d", ""), element.get("t"), element.get("h")
    day = _day(year, text)
    if holiday is not None and holiday not in titles:
        raise _fail(year, f"{text}: праздник h={holiday!r} не объявлен")
    if kind == "1":
        days["off"].add(day)
        if holiday is not None:
            days["decree" if DECREE_MARK in titles[holiday] else "holiday"].add(day)
        return
    if kind not in ("2", "3"):
        raise _fail(year, f"{text}: тип дня t={kind!r}, ожидается 1, 2 или 3")
    if kind == "3" and day.weekday() < 5:
        raise _fail(year, f"{text}: t=3 — рабочие суббота и воскресенье")
    if kind == "2":
        days["short"].add(day)
    if day.weekday() >= 5:
        days["weekend"].add(day)


class ProductionCalendar:
    """Calendar years by number; ``add`` replaces a year already there."""

    def __init__(self, years: Iterable[CalendarYear] = ()) -> None:
        self._years = {year.year: year for year in years}

    def add(self, year: CalendarYear) -> None:
        self._years[year.year] = year

    def year(self, year: int) -> CalendarYear:
        known = self._years.get(year)
        if known is None:
            raise CalendarYearMissingError(year)
        return known

    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))


def _shipped() -> ProductionCalendar:
    folder = resources.files(__package__ or "sla.domain").joinpath(_DATA)
    calendar = ProductionCalendar()
    for entry in folder.iterdir():
        found = _FILE.match(entry.name)
        if found is not None:
            year = parse_calendar(entry.read_bytes())
            if year.year != int(found.group(1)):
                raise _fail(entry.name, f"в файле год {year.year}")
            calendar.add(year)
    return calendar


CALENDAR = _shipped()


def known_years() -> tuple[int, ...]:
    return CALENDAR.years()


def last_year() -> int:
    """The last year deadlines can be computed in."""
    return max(CALENDAR.years())


def is_working_day(day: date) -> bool:
    return CALENDAR.year(day.year).is_working_day(day)


def is_shortened(day: date) -> bool:
    """A working day one hour shorter (before a public holiday, Labour Code art. 95)."""
    return day in CALENDAR.year(day.year).shortened


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def working_days_in_year(year: int) -> int:
    """Working days as deadlines count them (decree days off are days off)."""
    return sum(is_working_day(day) for day in _days(year))


@dataclass(frozen=True)
class YearNorm:
    """The year's norm of working time (order of the Ministry of Health and Social Development
    No. 588n): weekly hours / 5 x working days, less one hour a shortened day. Days off by
    presidential decree do not change the norm (the Ministry of Labour's position): they count
    as the working days they would have been, one hour shorter before a public holiday."""

    year: int
    working_days: int
    shortened_days: int

    def hours(self, weekly_hours: Decimal | int = 40) -> Decimal:
        weekly = Decimal(weekly_hours)
        if not 0 < weekly <= 40:
            raise ValueError(f"неделя от 0 до 40 часов: {weekly_hours}")
        return weekly / 5 * self.working_days - self.shortened_days


def year_norm(year: int) -> YearNorm:
    info = CALENDAR.year(year)
    working = shortened = 0
    for day in _days(year):
        if day in info.decree_days_off and day.weekday() < 5:
            working += 1
            following = day + timedelta(days=1)
            shortened += following in info.labour_code_holidays
        elif info.is_working_day(day):
            working += 1
            shortened += day in info.shortened
    return YearNorm(year, working, shortened)


def working_hours_norm(year: int, weekly_hours: Decimal | int = 40) -> Decimal:
    """The official norm of working hours of ``year`` for a ``weekly_hours`` week."""
    return year_norm(year).hours(weekly_hours)


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
