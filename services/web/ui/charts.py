"""Line charts of monthly values as plain geometry for an inline SVG template (pure; no
JavaScript and no external library, so the page prints and works offline). A month with no
data breaks the line instead of being drawn as zero."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 600, 230
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 40


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    name: str
    index: int  # colour slot (CSS class series-N)
    segments: tuple[str, ...]  # SVG "x,y x,y" polylines, one per run of months with data
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    plan_y: float | None
    plan_text: str
    has_data: bool


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least ``value`` (axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return 10 * power


def line_chart(
    title: str,
    month_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    unit: str = "",
    y_max: float | None = None,
    plan: float | None = None,
) -> Chart:
    """``series``: (name, one value per month, None = no data)."""
    values = [v for _, row in series for v in row if v is not None]
    top = y_max or nice_ceiling(max([*values, plan or 0.0, 0.0]) * 1.1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(month_labels), 1)

    def x_of(index: int) -> float:
        return round(LEFT + step * (index + 0.5), 1)

    def y_of(value: float) -> float:
        return round(TOP + inner_h * (1 - min(value, top) / top), 1)

    lines = tuple(
        _line(name, index, row, month_labels, unit, x_of, y_of)
        for index, (name, row) in enumerate(series)
    )
    y_ticks = tuple(Tick(y_of(top * k / 4), _short(top * k / 4)) for k in range(5))
    x_ticks = tuple(Tick(x_of(i), label) for i, label in enumerate(month_labels))
    return Chart(
        title, WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM, x_ticks, y_ticks, lines,
        None if plan is None else y_of(plan), "" if plan is None else f"план {_short(plan)}",
        bool(values),
    )  # fmt: skip


def _line(
    name: str,
    index: int,
    row: Sequence[float | None],
    month_labels: Sequence[str],
    unit: str,
    x_of: Callable[[int], float],
    y_of: Callable[[float], float],
) -> Line:
    segments: list[list[str]] = [[]]
    points = []
    for position, value in enumerate(row):
        if value is None:
            segments.append([])
            continue
        x, y = x_of(position), y_of(value)
        segments[-1].append(f"{x},{y}")
        points.append(Point(x, y, f"{name}, {month_labels[position]}: {_short(value)} {unit}"))
    return Line(name, index, tuple(" ".join(s) for s in segments if s), tuple(points))


def _short(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")
