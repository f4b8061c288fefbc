"""Draw a Grafana dashboard of deploy/grafana/dashboards as a PNG from real Prometheus data.

Grafana cannot be installed offline here, so the README's picture is drawn by this module: the
panel layout (gridPos), titles, units, thresholds and legends come from the dashboard JSON, and
every number and line from the panel's own queries run against a Prometheus (query_range for time
series, an instant query for stat and bar gauge panels), in Grafana's dark theme colours. Nothing
is invented: a panel whose queries return nothing says «Нет данных», as Grafana does.

    python -m tools.dashboard_render --prometheus http://127.0.0.1:9090 \\
        --dashboard deploy/grafana/dashboards/sla.json --minutes 60 --output sla.png
"""

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from tools.dashboards import interpolate, legend, resolve_variables
from tools.prometheus import PromClient

BG, PANEL, BORDER, TEXT, MUTED = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e9e"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a"]
NAMED = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830", "yellow": "#fade2a"}
WIDTH_IN, ROW_IN, TOP_IN = 20.0, 0.36, 0.45  # width; one grid row; the header line (inches)


@dataclass
class RenderReport:
    """What was drawn: series per panel title (0 = «Нет данных»)."""

    series: dict[str, int] = field(default_factory=dict)


def _date(seconds: float) -> float:
    """Matplotlib's date number: days since its default epoch, 1970-01-01 (matplotlib >= 3.3)."""
    return seconds / 86400.0


def fmt(value: float, unit: str, decimals: int | None = None) -> str:
    if math.isnan(value):
        return "NaN"
    if unit == "s":
        if 0 < abs(value) < 1:
            return f"{value * 1000:.0f} мс"
        for limit, div, name in ((60, 1, "с"), (3600, 60, "мин"), (86400, 3600, "ч")):
            if abs(value) < limit:
                return f"{value / div:.1f} {name}".replace(".0 ", " ")
        return f"{value / 86400:.1f} дн".replace(".0 ", " ")
    digits = decimals if decimals is not None else (0 if float(value).is_integer() else 2)
    text = f"{value:.{digits}f}"
    return {"percent": f"{text}%", "h": f"{text} ч"}.get(unit, text)


def threshold_colour(value: float, defaults: dict[str, Any]) -> str:
    colour = "green"
    for step in defaults.get("thresholds", {}).get("steps", []):
        if step["value"] is None or (not math.isnan(value) and value >= step["value"]):
            colour = step["color"]
    return NAMED.get(colour, colour)


def _instant(
    prometheus: PromClient, panel: dict[str, Any], env: dict[str, str], at: float, span: int
) -> list[tuple[str, float]]:
    values = []
    for target in panel["targets"]:
        for series in prometheus.query(interpolate(target["expr"], env, span), at):
            values.append(
                (
                    legend(target.get("legendFormat", ""), series["metric"]),
                    float(series["value"][1]),
                )
            )
    return values


def _timeseries(
    ax: Axes, prometheus: PromClient, panel: dict[str, Any], env: dict[str, str],
    window: tuple[float, float],
) -> int:  # fmt: skip
    start, end = window
    step = max(1.0, (end - start) / 240)
    unit = panel["fieldConfig"]["defaults"].get("unit", "short")
    drawn = 0
    for target in panel["targets"]:
        expr = interpolate(target["expr"], env, int(end - start), int(step))
        for series in prometheus.query_range(expr, start, end, step):
            xs = [_date(float(t)) for t, _ in series["values"]]
            ys = [float(v) for _, v in series["values"]]
            label = legend(target.get("legendFormat", ""), series["metric"])
            ax.plot(xs, ys, lw=1.6, color=PALETTE[drawn % len(PALETTE)], label=label)
            drawn += 1
    ax.set_xlim(_date(start), _date(end))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=7, tz=UTC))  # type: ignore[no-untyped-call]
    clock = "%H:%M:%S" if end - start < 900 else "%H:%M"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(clock, tz=UTC))  # type: ignore[no-untyped-call]
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, unit)))
    ax.tick_params(colors=MUTED, labelsize=7)
    ax.grid(color=BORDER, lw=0.6)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if drawn:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=min(drawn, 4), fontsize=7,
            frameon=False, labelcolor=TEXT, handlelength=1.2,
        )  # fmt: skip
    return drawn


def _stat(ax: Axes, values: list[tuple[str, float]], panel: dict[str, Any]) -> None:
    defaults = panel["fieldConfig"]["defaults"]
    by_name = panel["options"].get("textMode") == "name"
    ax.set_axis_off()
    for n, (name, value) in enumerate(values):
        x = (n + 0.5) / len(values)
        big = (
            name if by_name else fmt(value, defaults.get("unit", "short"), defaults.get("decimals"))
        )
        colour = threshold_colour(value, defaults)
        ax.text(x, 0.55, big, ha="center", va="center", fontsize=20 if not by_name else 12,
                color=colour, weight="bold", transform=ax.transAxes)  # fmt: skip
        if len(values) > 1 and not by_name:
            ax.text(x, 0.12, name, ha="center", va="center", fontsize=7, color=MUTED,
                    transform=ax.transAxes)  # fmt: skip


def _bargauge(ax: Axes, values: list[tuple[str, float]], panel: dict[str, Any]) -> None:
    defaults = panel["fieldConfig"]["defaults"]
    unit, decimals = defaults.get("unit", "short"), defaults.get("decimals")
    values = sorted(values)
    finite = [v for _, v in values if not math.isnan(v)] or [0.0]
    top = defaults.get("max") or max(max(finite) * 1.05, 1e-9)
    # Grafana's horizontal bar gauge: the name above its bar, the value at the right end.
    rows = [n + 0.15 for n in range(len(values))]
    ax.barh(rows, [top] * len(values), color=BORDER, height=0.45)
    ax.barh(
        rows, [0 if math.isnan(v) else v for _, v in values], height=0.45,
        color=[threshold_colour(v, defaults) for _, v in values],
    )  # fmt: skip
    size = 7 if len(values) <= 8 else 5.5
    for row, (name, value) in zip(rows, values, strict=True):
        ax.text(0, row - 0.27, name, fontsize=size, color=TEXT, va="bottom")
        ax.text(top, row - 0.27, fmt(value, unit, decimals), fontsize=size, color=TEXT,
                va="bottom", ha="right", weight="bold")  # fmt: skip
    ax.set_ylim(max(len(values), 4), -0.05)  # a few values keep Grafana's bar thickness
    ax.set_xlim(0, top)
    ax.set_axis_off()


def _frame(fig: Figure, panel: dict[str, Any], rows: int, env: dict[str, str]) -> Axes:
    grid = panel["gridPos"]
    total = rows * ROW_IN + TOP_IN
    unit = ROW_IN / total  # one grid row as a fraction of the figure's height
    left, width = grid["x"] / 24, grid["w"] / 24
    bottom, height = 1 - TOP_IN / total - (grid["y"] + grid["h"]) * unit, grid["h"] * unit
    pad_x, pad_y = 0.004, 0.004 * WIDTH_IN / total
    box = fig.add_axes((left + pad_x, bottom + pad_y, width - 2 * pad_x, height - 2 * pad_y))
    box.set_facecolor(PANEL)
    box.set_xticks([])
    box.set_yticks([])
    for spine in box.spines.values():
        spine.set_color(BORDER)
    title = interpolate(panel["title"], env, 0)  # Grafana fills variables in titles too
    box.text(0.015, 0.97, title, transform=box.transAxes, fontsize=9, color=TEXT,
             va="top", weight="bold")  # fmt: skip
    title_frac = 0.55 / (grid["h"] * ROW_IN)
    inner_bottom = 0.22 if panel["type"] == "timeseries" else 0.04
    inner = (0.06 if panel["type"] == "timeseries" else 0.02, inner_bottom)
    return fig.add_axes(
        (
            left + pad_x + inner[0] * width,
            bottom + pad_y + inner[1] * height,
            (width - 2 * pad_x) * (1 - inner[0] - 0.02),
            (height - 2 * pad_y) * (1 - inner[1] - title_frac - 0.02),
        ),
        facecolor=PANEL,
    )


def render(
    board: dict[str, Any], prometheus: PromClient, window: tuple[float, float], output: Path
) -> RenderReport:
    """Draw ``board`` for the time ``window`` (Unix seconds) into ``output`` (PNG)."""
    env = resolve_variables(board, prometheus)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    fig = plt.figure(figsize=(WIDTH_IN, rows * ROW_IN + TOP_IN), facecolor=BG)
    start, end = window
    span = int(end - start)
    report = RenderReport()
    for panel in board["panels"]:
        ax = _frame(fig, panel, rows, env)
        if panel["type"] == "timeseries":
            drawn = _timeseries(ax, prometheus, panel, env, window)
        else:
            values = _instant(prometheus, panel, env, end, span)
            drawn = len(values)
            (_stat if panel["type"] == "stat" else _bargauge)(ax, values, panel)
        if not drawn:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "Нет данных", ha="center", va="center", color=MUTED,
                    transform=ax.transAxes)  # fmt: skip
        report.series[panel["title"]] = drawn
    first, last = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    stamp = f"{first:%Y-%m-%d %H:%M} – {last:%H:%M} UTC"
    chosen = ", ".join(f"{k}={'все' if v == '.*' else v}" for k, v in env.items()) or "—"
    fig.suptitle(
        f"{board['title']}   ·   {stamp}   ·   переменные: {chosen}", color=TEXT, fontsize=11,
        x=0.005, ha="left", va="center", y=1 - TOP_IN / 2 / (rows * ROW_IN + TOP_IN),
    )  # fmt: skip
    fig.savefig(output, dpi=110, facecolor=BG)
    plt.close(fig)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Render a dashboard from Prometheus data")
    parser.add_argument("--prometheus", required=True, help="Prometheus base URL")
    parser.add_argument("--dashboard", required=True, type=Path)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args()
    board = json.loads(args.dashboard.read_text(encoding="utf-8"))
    end = time.time()
    report = render(board, PromClient(args.prometheus), (end - args.minutes * 60, end), args.output)
    filled = sum(1 for n in report.series.values() if n)
    print(f"{args.output}: {filled} of {len(report.series)} panels with data")


if __name__ == "__main__":
    main()
