"""Import rules of the architecture: pure modules import no I/O library; slices never import
each other (they meet through services.contracts)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLICES = ("ingest", "classifier", "sla")
PURE_NAMES = {
    "domain.py", "calendar.py", "policy.py", "indicators.py", "features.py", "deadlines.py",
    "replies.py", "history.py", "mail.py", "on_time.py", "labels.py", "plans.py", "plan_fact.py",
}  # fmt: skip
IO_LIBRARIES = {
    "faststream", "aiokafka", "sqlalchemy", "httpx", "requests", "vk_api", "prometheus_client",
    "psycopg", "uvicorn", "fastapi", "services",
}  # fmt: skip
PURE_ALLOWED_SERVICES = {"services.contracts"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def slice_files(name: str) -> list[Path]:
    return sorted((ROOT / name).rglob("*.py"))


PURE_FILES = [p for s in SLICES for p in slice_files(s) if p.name in PURE_NAMES]


def test_there_are_pure_modules_to_check() -> None:
    assert {p.name for p in PURE_FILES} >= {"domain.py", "indicators.py", "features.py"}


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_import_no_io_library(path: Path) -> None:
    offending = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] in IO_LIBRARIES
        and not any(name.startswith(allowed) for allowed in PURE_ALLOWED_SERVICES)
    }
    assert not offending, f"{path.name} imports {offending}"


@pytest.mark.parametrize("slice_name", SLICES)
def test_no_slice_imports_another(slice_name: str) -> None:
    others = set(SLICES) - {slice_name}
    for path in slice_files(slice_name):
        leaked = {n for n in imported_modules(path) if n.split(".")[0] in others}
        assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_shared_kernel_imports_no_slice_outside_composition_roots() -> None:
    roots = {"cli.py", "runtime", "web"}
    for path in (ROOT / "services").rglob("*.py"):
        relative = path.relative_to(ROOT / "services")
        if relative.parts[0] in roots:
            continue
        leaked = {n for n in imported_modules(path) if n.split(".")[0] in SLICES}
        assert not leaked, f"services/{relative} imports {leaked}"
