"""Yearly plan values of the municipal programme, from a YAML file the programme team edits
(format: README, "Plan/fact report"; an example: services/demo/data/plans.yaml).

Validated at load; every problem is reported in Russian with its key and line
(``years.2026.default.a2 (строка 4): должно быть больше 0``), so a mistake in the file is found
before anyone reads a wrong report. Pure: the file's text comes in, plans come out.
"""

import hashlib
import reprlib
from collections.abc import Collection, Iterator
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.yaml_text import ConfigFileError, compose
from sla.domain.validation_text import russian

KeyPath = tuple[str, ...]
# A wrong value as an error names it: cut short, where YAML aliases can make it millions of items.
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring = 2, 4, 4, 80


class PlansError(ConfigFileError):
    """The plans file is invalid; the message lists every problem with its key and line."""


class IndicatorPlans(BaseModel):
    """Planned values for one year; a value left out is "no plan" for that indicator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    a2: float | None = Field(default=None, gt=0, strict=True)
    share_processed: float | None = Field(default=None, gt=0, le=100, strict=True)
    share_negative: float | None = Field(default=None, gt=0, le=100, strict=True)
    n_positive_neutral: int | None = Field(default=None, gt=0, strict=True)

    def over(self, fallback: "IndicatorPlans") -> "IndicatorPlans":
        """These values where given, ``fallback``'s elsewhere."""
        given = self.model_dump(exclude_none=True)
        return fallback.model_copy(update=given)


class YearPlans(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: IndicatorPlans = IndicatorPlans()
    municipalities: dict[str, IndicatorPlans] = Field(default_factory=dict)


class PlansFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    years: dict[int, YearPlans]


class Plans:
    """A loaded plans file: the plan of a municipality for a year."""

    def __init__(self, spec: PlansFile, digest: str) -> None:
        self.spec = spec
        self.version = digest[:12]

    def for_year(self, year: int, municipality: str) -> IndicatorPlans:
        """The municipality's own values over the year's default; empty when the year is absent."""
        found = self.spec.years.get(year)
        if found is None:
            return IndicatorPlans()
        own = found.municipalities.get(municipality)
        return found.default if own is None else own.over(found.default)

    def named_municipalities(self, year: int) -> list[str]:
        found = self.spec.years.get(year)
        return [] if found is None else sorted(found.municipalities)


# A year key that is not a number: the only message the plans file words its own way.
_MESSAGES = {"int_parsing": "ожидается год (целое число)"}


def _lines(node: yaml.Node, path: KeyPath = ()) -> Iterator[tuple[KeyPath, int]]:
    """(key path, 1-based line) for every key of the document, to name lines in errors."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            place = (*path, str(key.value))
            yield place, key.start_mark.line + 1
            yield from _lines(value, place)


def _where(location: KeyPath, lines: dict[KeyPath, int]) -> str:
    key = ".".join(location) or "файл"
    for size in range(len(location), 0, -1):  # a missing key: the line of its parent
        if location[:size] in lines:
            return f"{key} (строка {lines[location[:size]]})"
    return key


def _problem(error: Any, lines: dict[KeyPath, int]) -> str:
    location = tuple(str(part) for part in error["loc"] if part != "[key]")
    text = russian(error, _MESSAGES)
    if "input" in error and error["type"] != "missing":
        text += f", указано {_SHOWN.repr(error['input'])}"
    return f"{_where(location, lines)}: {text}"


def _unknown(spec: PlansFile, known: Collection[str], lines: dict[KeyPath, int]) -> list[str]:
    return [
        f"{_where(('years', str(year), 'municipalities', name), lines)}: неизвестный "
        f"муниципалитет {name!r} (известны: {', '.join(sorted(known)) or 'ни одного'})"
        for year, plans in spec.years.items()
        for name in plans.municipalities
        if name not in known
    ]


def load_plans(text: str, known_municipalities: Collection[str]) -> Plans:
    """Parse and validate; raises PlansError naming every problem, its key and its line.

    ``known_municipalities`` are the ids of the SLA policy: a plan for any other id is a typo
    that would otherwise silently fall back to the default plan.
    """
    try:
        root, data = compose(text, "файл планов")
    except ConfigFileError as error:
        raise PlansError(str(error)) from error
    lines = dict(_lines(root)) if root is not None else {}
    try:
        spec = PlansFile.model_validate(data)
    except ValidationError as error:
        problems = [_problem(item, lines) for item in error.errors()]
        raise PlansError("файл планов:\n  " + "\n  ".join(problems)) from error
    problems = _unknown(spec, known_municipalities, lines)
    problems += [
        f"{_where(('years', str(year)), lines)}: год вне диапазона 2000–2100"
        for year in spec.years
        if not 2000 <= year <= 2100
    ]
    if problems:
        raise PlansError("файл планов:\n  " + "\n  ".join(problems))
    return Plans(spec, hashlib.sha256(text.encode("utf-8")).hexdigest())
