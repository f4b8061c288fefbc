"""Short incident numbers people read and type: «СЕВ-2026-000123» is the 123rd incident of the
municipality whose prefix is СЕВ among those written to it in 2026. The database keeps the year
and the sequence (sla/storage/numbers.py); the prefix is the policy's, added where it is shown."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Letters and digits, no hyphen: the hyphen separates the parts.
CODE = re.compile(r"^[A-ZА-ЯЁ0-9]{2,6}$")
_NUMBER = re.compile(r"^\s*([A-ZА-ЯЁ0-9]{2,6})-(\d{4})-(\d{1,9})\s*$")


# The columns a stored row carries its number in (sla/storage/queue.py, drilldown.py).
STORED_PARTS = ("number_municipality", "number_year", "number_seq")


@dataclass(frozen=True)
class IncidentNumber:
    prefix: str
    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}-{self.number:06d}"


def derived_prefix(name: str) -> str:
    """The first three letters of a municipality's name, in capitals: «Северогорск» → «СЕВ»."""
    letters = "".join(char for char in name if char.isalpha())
    return letters[:3].upper() or "Н"


def parse_number(text: str) -> IncidentNumber | None:
    """The number typed by a person (any case, spaces around); None if it is not one."""
    found = _NUMBER.match(text.upper())
    if found is None:
        return None
    return IncidentNumber(found.group(1), int(found.group(2)), int(found.group(3)))


def with_number(row: Mapping[str, Any], prefix_of: Callable[[str], str]) -> dict[str, Any]:
    """A stored incident row with ``number`` as people read it, in place of its stored parts
    (``number_municipality``, ``number_year``, ``number_seq``)."""
    shown = {k: v for k, v in row.items() if k not in STORED_PARTS}
    prefix = prefix_of(row["number_municipality"])
    shown["number"] = str(IncidentNumber(prefix, row["number_year"], row["number_seq"]))
    return shown
