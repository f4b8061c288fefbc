"""SLA policies from a YAML file the administration edits (format: docs/sla-policy.md).

Validated at load with errors that name the place (``rules[2].final_answer: …``). Pure: the file's
text comes in, deadlines come out; nothing here reads files or the clock (see ``load_policy_file``
in sla/policy_file.py for the file).
"""

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kernel.contracts.categories import DEPARTMENTS
from kernel.yaml_text import ConfigFileError, parse
from sla.domain.calendar import WorkingClock, WorkingHours
from sla.domain.numbers import CODE, derived_prefix
from sla.domain.on_time import Deadlines
from sla.domain.validation_text import russian

_LEAD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d)\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
# No duration is longer than a year: a bigger number is a typo, and it would make every deadline
# computation overflow or walk the calendar for centuries, for every message.
MAX_DAYS = 366


class PolicyError(ConfigFileError):
    """The policy file is invalid; the message lists every problem with its place."""


class UnknownIdError(LookupError):
    """A municipality, region or department the policy does not know (message in Russian)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"неизвестный часовой пояс {name!r}") from error
    return name


def _hours(text: str) -> str:
    WorkingHours.parse(text)
    return text


class Defaults(_Strict):
    timezone: str = "Europe/Moscow"
    working_hours: str = "09:00-18:00"
    warning_lead: str = "2h"
    reassignment_restarts_clock: bool = False

    _check_zone = field_validator("timezone")(_zone)
    _check_hours = field_validator("working_hours")(_hours)

    @field_validator("warning_lead")
    @classmethod
    def _check_lead(cls, value: str) -> str:
        if not _LEAD.match(value):
            raise ValueError("ожидается длительность вида 30m, 2h или 1d")
        if _lead(value) > timedelta(days=MAX_DAYS):
            raise ValueError(f"не больше {MAX_DAYS}d")
        return value


class Municipality(_Strict):
    name: str
    # The prefix of its incident numbers («СЕВ-2026-000123»); else the name's first letters.
    code: str | None = None
    timezone: str | None = None
    working_hours: str | None = None
    region: str | None = None

    @field_validator("code")
    @classmethod
    def _check_code(cls, value: str | None) -> str | None:
        if value is not None and not CODE.match(value):
            raise ValueError("ожидается от 2 до 6 заглавных букв или цифр, например СЕВ")
        return value

    @property
    def number_prefix(self) -> str:
        return self.code or derived_prefix(self.name)

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)

    @field_validator("working_hours")
    @classmethod
    def _check_hours(cls, value: str | None) -> str | None:
        return None if value is None else _hours(value)


class Duration(_Strict):
    """Exactly one of: working hours, whole working days, calendar days."""

    working_hours: float | None = Field(default=None, gt=0, le=MAX_DAYS * 24)
    working_days: int | None = Field(default=None, gt=0, le=MAX_DAYS)
    calendar_days: int | None = Field(default=None, gt=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [v for v in (self.working_hours, self.working_days, self.calendar_days) if v]
        if len(given) != 1:
            raise ValueError("укажите ровно одно из: working_hours, working_days, calendar_days")
        return self

    def deadline(self, clock: WorkingClock, start: datetime) -> datetime:
        if self.working_hours is not None:
            return clock.add(start, timedelta(hours=self.working_hours))
        if self.working_days is not None:
            return clock.end_of_working_day(start, self.working_days)
        assert self.calendar_days is not None
        return clock.after_calendar_days(start, self.calendar_days)


class Match(_Strict):
    channel: str | list[str] | None = None
    category: str | list[str] | None = None
    municipality: str | list[str] | None = None

    def accepts(self, channel: str, category: str | None, municipality: str) -> bool:
        return all(
            wanted is None or value in ([wanted] if isinstance(wanted, str) else wanted)
            for wanted, value in (
                (self.channel, channel),
                (self.category, category),
                (self.municipality, municipality),
            )
        )

    def is_catch_all(self) -> bool:
        return self.channel is None and self.category is None and self.municipality is None


class Rule(_Strict):
    match: Match = Match()
    first_response: Duration
    final_answer: Duration


class PolicyFile(_Strict):
    version: str = Field(min_length=1)
    defaults: Defaults = Defaults()
    municipalities: dict[str, Municipality] = Field(default_factory=dict)
    # Departments beyond those the categories route to (kernel.contracts.categories).
    departments: list[str] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.rules[-1].match.is_catch_all():
            raise ValueError("последнее правило должно подходить ко всему (match: {})")
        for index, rule in enumerate(self.rules):
            wanted = rule.match.municipality
            for name in [wanted] if isinstance(wanted, str) else wanted or []:
                if name not in self.municipalities:
                    raise ValueError(f"rules[{index}].match: неизвестный муниципалитет {name!r}")
        seen: dict[str, str] = {}
        for key, municipality in self.municipalities.items():
            other = seen.setdefault(municipality.number_prefix, key)
            if other != key:
                raise ValueError(
                    f"у муниципалитетов {other!r} и {key!r} одинаковый префикс номеров "
                    f"«{municipality.number_prefix}»: задайте одному из них code"
                )
        return self


def _lead(text: str) -> timedelta:
    found = _LEAD.match(text)
    assert found is not None
    amount = float(found.group(1))
    if amount > MAX_DAYS * 24 * 60:  # in any unit more than a year; timedelta would overflow
        return timedelta.max
    return amount * _UNITS[found.group(2)]


class SlaPolicy:
    """A loaded policy: which rule applies, which clock each municipality works by."""

    def __init__(self, spec: PolicyFile, digest: str) -> None:
        self.spec = spec
        self.digest = digest
        self.version = f"{spec.version}#{digest[:8]}"
        self.warning_lead = _lead(spec.defaults.warning_lead)
        self.reassignment_restarts_clock = spec.defaults.reassignment_restarts_clock

    def require_municipality(self, municipality: str) -> str:
        """``municipality`` if the policy lists it; a typo must not become a municipality of
        its own (a phantom row in every report)."""
        if municipality not in self.spec.municipalities:
            known = ", ".join(sorted(self.spec.municipalities)) or "ни одного"
            raise UnknownIdError(
                f"неизвестный муниципалитет «{municipality}»; в политике SLA: {known}"
            )
        return municipality

    def require_department(self, department: str | None) -> str | None:
        """``department`` if it is one the categories route to or the policy lists."""
        known = {*DEPARTMENTS.values(), *self.spec.departments}
        if department is not None and department not in known:
            raise UnknownIdError(
                f"неизвестное подразделение «{department}»; известны: {', '.join(sorted(known))}"
            )
        return department

    def municipalities_of(self, region: str) -> list[str]:
        """The municipalities the policy file places in ``region``."""
        return sorted(m for m, spec in self.spec.municipalities.items() if spec.region == region)

    def municipality_names(self) -> dict[str, str]:
        return {key: spec.name for key, spec in self.spec.municipalities.items()}

    def number_prefix(self, municipality: str) -> str:
        known = self.spec.municipalities.get(municipality)
        return known.number_prefix if known else derived_prefix(municipality)

    def municipality_of_prefix(self, prefix: str) -> str | None:
        """The municipality whose incident numbers start with ``prefix`` (unique: validated)."""
        for key, known in self.spec.municipalities.items():
            if known.number_prefix == prefix:
                return key
        return None

    def timezone(self, municipality: str) -> ZoneInfo:
        known = self.spec.municipalities.get(municipality)
        return ZoneInfo((known and known.timezone) or self.spec.defaults.timezone)

    def clock_for(self, municipality: str) -> WorkingClock:
        known = self.spec.municipalities.get(municipality)
        hours = (known and known.working_hours) or self.spec.defaults.working_hours
        return WorkingClock(WorkingHours.parse(hours), self.timezone(municipality))

    def rule_for(self, channel: str, category: str | None, municipality: str) -> tuple[int, Rule]:
        for index, rule in enumerate(self.spec.rules):
            if rule.match.accepts(channel, category, municipality):
                return index, rule
        raise AssertionError("validated: the last rule is a catch-all")

    def deadlines(
        self, *, channel: str, category: str | None, municipality: str, start: datetime
    ) -> Deadlines:
        index, rule = self.rule_for(channel, category, municipality)
        clock = self.clock_for(municipality)
        return Deadlines(
            first_response=rule.first_response.deadline(clock, start),
            final_answer=rule.final_answer.deadline(clock, start),
            policy_version=self.version,
            rule=f"rules[{index}]",
        )


def _place(location: tuple[Any, ...]) -> str:
    place = ""
    for part in location:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "файл"


def load_policy(text: str) -> SlaPolicy:
    """Parse and validate; raises PolicyError naming every problem and its place."""
    try:
        data = parse(text, "политика SLA")
    except ConfigFileError as error:
        raise PolicyError(str(error)) from error
    try:
        spec = PolicyFile.model_validate(data)
    except ValidationError as error:
        problems = [f"{_place(e['loc'])}: {russian(e)}" for e in error.errors()]
        raise PolicyError("политика SLA: " + "; ".join(problems)) from error
    return SlaPolicy(spec, hashlib.sha256(text.encode("utf-8")).hexdigest())
