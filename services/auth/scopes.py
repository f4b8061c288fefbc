"""Where a user works (pure): the municipalities — named, or as the regions of the SLA policy
that hold them — and optionally the departments. Stored as JSON in ``users.scope``:

    {}                                        everything (the default: a small installation)
    {"municipalities": ["severogorsk"]}       these municipalities
    {"regions": ["demo"]}                     the municipalities the policy places in these regions
    {"municipalities": [...], "departments": ["ЖКХ"]}   and within them only these departments

Regions are resolved against the policy when asked, so moving a municipality to another region
in the policy file moves it for every user scoped by region.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_KEYS = ("municipalities", "regions", "departments")


class ScopeError(ValueError):
    """A scope that cannot be stored (message in Russian)."""


@dataclass(frozen=True)
class Scope:
    municipalities: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()  # empty: every department

    @property
    def everywhere(self) -> bool:
        """No limit on the municipalities (departments may still be limited)."""
        return not self.municipalities and not self.regions

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "Scope":
        data = data or {}
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ScopeError(f"неизвестные ключи области доступа: {', '.join(unknown)}")
        parts = {}
        for key in _KEYS:
            values = data.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise ScopeError(f"{key}: нужен список непустых строк")
            parts[key] = frozenset(values)
        return cls(**parts)

    def to_json(self) -> dict[str, list[str]]:
        return {key: sorted(getattr(self, key)) for key in _KEYS if getattr(self, key)}

    def municipalities_in(
        self, members_of: Callable[[str], Iterable[str]]
    ) -> frozenset[str] | None:
        """The municipalities the user works in (regions resolved by ``members_of``); None for
        every municipality."""
        if self.everywhere:
            return None
        found = set(self.municipalities)
        for region in self.regions:
            found.update(members_of(region))
        return frozenset(found)

    def covers(
        self, municipality: str, department: str | None, members_of: Callable[[str], Iterable[str]]
    ) -> bool:
        """Whether an incident of ``municipality`` and ``department`` is the user's."""
        places = self.municipalities_in(members_of)
        if places is not None and municipality not in places:
            return False
        return not self.departments or department in self.departments

    def describe(self) -> str:
        """For people: «все муниципалитеты» or what it is limited to."""
        parts = []
        if self.municipalities:
            parts.append("муниципалитеты: " + ", ".join(sorted(self.municipalities)))
        if self.regions:
            parts.append("регионы: " + ", ".join(sorted(self.regions)))
        if not parts:
            parts.append("все муниципалитеты")
        if self.departments:
            parts.append("подразделения: " + ", ".join(sorted(self.departments)))
        return "; ".join(parts)
