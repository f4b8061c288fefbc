"""SQL only through bound parameters: no statement text in the product code is built from
values at run time (f-strings, %-formatting, .format or concatenation passed to text(),
execute() and friends). Values go in as parameters, so no input can change a statement."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("kernel", "ingest", "classifier", "sla", "services")
SQL_CALLS = {"text", "execute", "exec_driver_sql", "executemany", "scalar", "scalars"}


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _built_at_run_time(argument: ast.expr) -> bool:
    if isinstance(argument, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in argument.values)
    if isinstance(argument, ast.BinOp) and isinstance(argument.op, ast.Add | ast.Mod):
        return True
    return (
        isinstance(argument, ast.Call)
        and isinstance(argument.func, ast.Attribute)
        and argument.func.attr == "format"
    )


def offences(source: str) -> list[int]:
    """Lines where a statement handed to the database is built from values."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and _called_name(node) in SQL_CALLS
        and node.args
        and _built_at_run_time(node.args[0])
    ]


FILES = [p for name in PRODUCT for p in sorted((ROOT / name).rglob("*.py"))]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_statement_is_built_from_values(path: Path) -> None:
    assert offences(path.read_text(encoding="utf-8")) == []


def test_the_check_finds_a_built_statement() -> None:
    sample = 'def f(c, v):\n    c.execute(f"SELECT {v}")\n    c.execute(text("x" + v))\n'
    safe = 'def g(c, v):\n    c.execute(text("SELECT :v"), {"v": v})\n'
    assert offences(sample) == [2, 3] and offences(safe) == []
