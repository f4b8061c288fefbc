"""Indicator arithmetic from the municipal methodology (pure; see docs/indicators.md).

A_2 = N_отр / N_назн * k_об, k_об = 1.2 when the ratio is 1 and N_отр > T, else 1.
A month with N_назн = 0 has no value ("no data", None) and is left out of period means.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from statistics import mean

BONUS_K_OB = 1.2
EFFECTIVE_ACHIEVEMENT = 95.0


@dataclass(frozen=True)
class A2:
    n_assigned: int
    n_on_time: int
    ratio: float | None
    k_ob: float | None
    value: float | None


def k_ob(n_assigned: int, n_on_time: int, threshold_t: int) -> float:
    return BONUS_K_OB if n_on_time == n_assigned and n_on_time > threshold_t else 1.0


def a2(n_assigned: int, n_on_time: int, threshold_t: int) -> A2:
    """The month's A_2; ``value`` is None when nothing was assigned."""
    if n_assigned < 0 or n_on_time < 0 or n_on_time > n_assigned:
        raise ValueError(f"N_отр={n_on_time} must be within 0..N_назн={n_assigned}")
    if n_assigned == 0:
        return A2(0, 0, None, None, None)
    ratio = n_on_time / n_assigned
    coefficient = k_ob(n_assigned, n_on_time, threshold_t)
    return A2(n_assigned, n_on_time, ratio, coefficient, round(ratio * coefficient, 6))


def period_mean(monthly_values: Iterable[float | None]) -> float | None:
    """Mean of the months that have a value; None when no month has one."""
    values = [value for value in monthly_values if value is not None]
    return round(mean(values), 6) if values else None


def share_percent(part: int, whole: int) -> float | None:
    if whole == 0:
        return None
    return round(100.0 * part / whole, 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (q in 0..100), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def achievement(fact: float, plan: float) -> float | None:
    """Degree of achievement in percent (fact / plan)."""
    return None if plan == 0 else round(100.0 * fact / plan, 2)


def is_effective(achievement_percent: float | None) -> bool | None:
    return None if achievement_percent is None else achievement_percent >= EFFECTIVE_ACHIEVEMENT


def month_close(month: str, zone: tzinfo, day: int, at: time) -> datetime:
    """When ``month`` (YYYY-MM) closes: ``day`` of the next month at ``at``, local time in
    ``zone``. Values computed from then on are the month's reported ones."""
    year, number = (int(part) for part in month.split("-"))
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, day, at.hour, at.minute, tzinfo=zone)


@dataclass(frozen=True)
class Ranked:
    place: int | None  # None: no data, listed last without a place
    municipality: str
    a2: float | None


def rank_by_a2(values: Sequence[tuple[str, float | None]]) -> list[Ranked]:
    """Highest A_2 first; equal values share a place (1, 2, 2, 4); "no data" comes last with no
    place, never as 0: a month without assignments is not a bad month."""
    rated = sorted(((m, v) for m, v in values if v is not None), key=lambda mv: (-mv[1], mv[0]))
    ranked: list[Ranked] = []
    for position, (municipality, value) in enumerate(rated, start=1):
        tied = ranked and ranked[-1].a2 == value
        ranked.append(Ranked(ranked[-1].place if tied else position, municipality, value))
    unrated = sorted(m for m, v in values if v is None)
    return ranked + [Ranked(None, municipality, None) for municipality in unrated]
