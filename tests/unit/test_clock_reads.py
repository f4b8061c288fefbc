"""Nobody reads the wall clock to decide what happens or what a test expects: otklik takes "now"
from kernel/clock.py (``Settings.clock``), tests from the ``clock`` fixture at a moment they
choose (tests/moments.py). The places that do read it are listed here by name, each with why."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "ingest", "classifier", "sla", "services", "tools", "tests")
# (file, function) -> why it may read the system clock.
ALLOWED = {
    ("kernel/clock.py", "__call__"): "the one clock itself",
    ("kernel/clock.py", "starting_at"): "the offset from the system clock to a chosen moment",
    ("kernel/bus/delivery.py", "make_dead_letter"): "when a record failed, for the operator",
    ("services/cli.py", "classifier_promote"): "when a model was promoted, for the operator",
    ("classifier/training.py", "_train"): "a model version names when it was trained",
    ("classifier/evaluation.py", "build_report"): "when an evaluation was made",
    ("tools/dashboard_render.py", "main"): "Prometheus's time range (system clock)",
    ("tests/e2e/test_observability.py", "prometheus_now"): "Prometheus's time range",
}
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
              ("date", "today"), ("time", "time"), ("time", "time_ns")}  # fmt: skip


def wall_clock_reads(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of every wall-clock read in the file."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                owner = child.func.value
                owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                if (owner_name, child.func.attr) in WALL_CLOCK:
                    found.append((function, child.lineno))
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


FILES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_check_finds_a_wall_clock_read() -> None:
    assert wall_clock_reads(ROOT / "kernel" / "clock.py") == [
        ("__call__", 19),
        ("starting_at", 24),
    ]


def test_no_wall_clock_read_but_the_listed_ones() -> None:
    unlisted = [
        f"{where}:{line} in {function}()"
        for path in FILES
        for where in [str(path.relative_to(ROOT))]
        for function, line in wall_clock_reads(path)
        if (where, function) not in ALLOWED
    ]
    assert not unlisted, (
        "the wall clock decides here; take now from the settings' clock (production) or the "
        f"clock fixture (tests), or list a measurement in ALLOWED: {unlisted}"
    )


def test_every_allowed_place_still_reads_the_clock() -> None:
    """A stale exemption would let a new read slip in under its name."""
    reads = {(str(p.relative_to(ROOT)), f) for p in FILES for f, _ in wall_clock_reads(p)}
    assert set(ALLOWED) <= reads, set(ALLOWED) - reads
