"""The plan/fact report and the XLSX exports on a real PostgreSQL: indicator months produced from
a replayed history (September in two revisions), read back over HTTP and through the CLI.
Expected numbers written by hand."""

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kernel.contracts.indicators import IndicatorRecord
from kernel.observability import Metrics
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.store import add_user
from services.cli import app as cli_app
from services.web.app import create_app
from sla.policy_file import BUNDLED
from sla.replay import replay_history
from sla.stage import open_sla
from sla.storage.aggregation import current_records
from tests.conftest import SettingsFactory
from tests.integration.test_history_replay import LATE_ANSWER, SEPTEMBER, M

pytestmark = pytest.mark.integration
HOSTILE = "Северогорск <script>alert(1)</script> & Co"
PLANS = """\
years:
  2026:
    default: {a2: 1.0, share_processed: 90, share_negative: 20, n_positive_neutral: 12}
    municipalities:
      severogorsk: {a2: 0.5}
"""


def configured(settings_factory: SettingsFactory, database_url: str, tmp_path: Path) -> Settings:
    policy = BUNDLED.read_text(encoding="utf-8").replace(
        'name: "Северогорск"', f'name: "{HOSTILE}"'
    )
    assert HOSTILE in policy
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "plans.yaml").write_text(PLANS, encoding="utf-8")
    return settings_factory(
        database_url=database_url,
        policy_file=tmp_path / "policy.yaml",
        plans_file=tmp_path / "plans.yaml",
    )


async def seed(settings: Settings) -> None:
    """September: revision 1, then a late-month answer makes revision 2; October: revision 1."""
    context = await open_sla(settings, Metrics(), clock=lambda: datetime(2026, 11, 1, tzinfo=UTC))
    try:
        await replay_history(context.db, context.service, SEPTEMBER)
        assert await context.aggregator.publish_month(M, "2026-09") is not None
        await replay_history(context.db, context.service, LATE_ANSWER)
        assert await context.aggregator.publish_month(M, "2026-09") is not None
        assert await context.aggregator.publish_month(M, "2026-10") is not None
    finally:
        await context.db.close()


@pytest.fixture
async def api(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    settings = configured(settings_factory, database_url, tmp_path)
    await seed(settings)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        await add_user(
            connection, login="vera", password="p" * 12, role=Role.VIEWER, display_name="Вера"
        )
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        signed_in = await client.post("/api/login", json={"login": "vera", "password": "p" * 12})
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {signed_in.json()['token']}"
        yield client, tmp_path
    await context.db.close()


async def test_report_as_json_follows_the_plans_and_names_revisions(
    api: tuple[httpx.AsyncClient, Path],
) -> None:
    client, _ = api
    response = await client.get("/api/reports/plan-fact", params={"period": "2026-H2"})
    assert response.status_code == 200, response.text
    [section] = response.json()["municipalities"]
    assert (section["municipality"], section["name"]) == (M, HOSTILE)
    rows = {row["indicator"]: row for row in section["rows"]}
    # A_2: September 2/3 = 0.666667 (revision 2), October 0/1 = 0 -> mean 0.333334 vs plan 0.5.
    assert rows["a2"]["plan"] == 0.5
    assert rows["a2"]["fact"] == pytest.approx(0.333334, abs=1e-6)
    assert (rows["a2"]["achievement"], rows["a2"]["verdict"]) == (66.67, "неэффективно")
    # Negative share: September 4/5 = 80 %, October 1/1 = 100 % -> 90 %; plan 20 / 90 = 22.22 %.
    assert [rows["share_negative"][k] for k in ("fact", "achievement")] == [90.0, 22.22]
    # Processed: September 3/3 = 100 %, October 0/1 = 0 % -> 50 %; 50 / 90 = 55.56 %.
    assert [rows["share_processed"][k] for k in ("fact", "achievement")] == [50.0, 55.56]
    # Positive and neutral: 1 + 0; the half-year's plan is 12 * 6 / 12 = 6.
    assert [rows["n_positive_neutral"][k] for k in ("plan", "fact")] == [6.0, 1.0]
    revisions = {m["month"]: m["revision"] for m in section["months"]}
    assert revisions == {
        "2026-07": None, "2026-08": None, "2026-09": 2, "2026-10": 1, "2026-11": None,
        "2026-12": None,
    }  # fmt: skip


async def test_report_as_xlsx_and_escaped_html(api: tuple[httpx.AsyncClient, Path]) -> None:
    client, _ = api
    xlsx = await client.get("/api/reports/plan-fact?period=2026-H2&format=xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["План-факт"]
    # Rows 1-5: the title (tests/integration/test_printable_reports.py); 7: the header.
    assert [cell.value for cell in sheet[7]] == [
        "Муниципалитет", "Показатель", "Ед. изм.", "План", "Факт", "Исполнение, %", "Оценка",
    ]  # fmt: skip
    first = [cell.value for cell in sheet[8]]
    assert first[0] == HOSTILE and first[1].endswith("(A_2)")
    assert (first[3], first[5], first[6]) == (0.5, 66.67, "неэффективно")
    months = {
        row[1]: row[2] for row in book["Ревизии месяцев"].iter_rows(min_row=2, values_only=True)
    }
    assert (months["2026-09"], months["2026-10"], months["2026-07"]) == (2, 1, "нет данных")

    html = await client.get("/api/reports/plan-fact?period=2026-H2&format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    page = html.text
    assert "<table" in page and "<th>Исполнение, %</th>" in page and "@page" in page
    assert '<td class="num">2' in page and "Отчёт сформирован" in page
    assert "<script>alert" not in page
    assert "Северогорск &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    hostile = await client.get(
        "/api/reports/plan-fact",
        params={"period": "2026", "municipality": "<b>x</b>", "format": "html"},
    )
    # An id the policy does not name (and that never had data) is refused, as JSON, never
    # echoed into HTML.
    assert hostile.status_code == 422
    assert hostile.headers["content-type"].startswith("application/json")
    assert hostile.json()["detail"].startswith("неизвестный муниципалитет «<b>x</b>»; известны: ")


async def test_report_needs_a_session_and_a_valid_plans_file(
    api: tuple[httpx.AsyncClient, Path],
) -> None:
    client, tmp_path = api
    anonymous = await client.get(
        "/api/reports/plan-fact?period=2026", headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    assert (await client.get("/api/reports/plan-fact?period=2026-Q5")).status_code == 422
    (tmp_path / "plans.yaml").write_text(PLANS.replace("a2: 0.5", "a2: -1"), encoding="utf-8")
    broken = await client.get("/api/reports/plan-fact?period=2026")
    assert broken.status_code == 500
    assert "severogorsk.a2 (строка 5): должно быть больше 0" in broken.json()["detail"]


def test_cli_writes_the_report_and_the_indicators_as_xlsx_and_html(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    settings = configured(settings_factory, database_url, tmp_path)
    asyncio.run(seed(settings))
    env = {
        "OTKLIK_DATABASE_URL": database_url, "OTKLIK_DATA_DIR": str(tmp_path / "data"),
        "OTKLIK_POLICY_FILE": str(tmp_path / "policy.yaml"),
        "OTKLIK_PLANS_FILE": str(tmp_path / "plans.yaml"),
    }  # fmt: skip
    runner = CliRunner()
    refused = runner.invoke(
        cli_app, ["indicators", "--month", "2026-09", "--format", "xlsx"], env=env
    )
    assert refused.exit_code == 2 and "--output" in refused.output

    target = tmp_path / "september.xlsx"
    done = runner.invoke(
        cli_app,
        ["indicators", "--month", "2026-09", "--format", "xlsx", "--output", str(target)],
        env=env,
    )
    assert done.exit_code == 0, done.output
    [stored] = asyncio.run(stored_records(settings, "2026-09"))
    sheet = load_workbook(target).active
    header, fields, row = ([cell.value for cell in sheet[n]] for n in (1, 2, 3))
    assert header[:4] == ["Муниципалитет", "Месяц", "Ревизия", "Рассчитано"]
    assert fields[:4] == ["municipality", "month", "revision", "computed_at"]
    assert row[:3] == [M, "2026-09", stored.revision] and stored.revision >= 2
    assert row[fields.index("a2")] == stored.a2 and row[fields.index("computed_at")].startswith(
        "20"
    )

    for fmt in ("xlsx", "html"):
        output = tmp_path / f"report.{fmt}"
        args = ["report", "--period", "2026-Q3", "--format", fmt, "--output", str(output)]
        result = runner.invoke(cli_app, args, env=env)
        assert result.exit_code == 0, result.output
        assert "III квартал 2026 г." in result.output
    report = load_workbook(tmp_path / "report.xlsx")
    months = {r[1]: r[2] for r in report["Ревизии месяцев"].iter_rows(min_row=2, values_only=True)}
    assert months == {"2026-07": "нет данных", "2026-08": "нет данных", "2026-09": stored.revision}
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f'<td class="num">{stored.revision}' in page and "&lt;script&gt;" in page

    bad = runner.invoke(cli_app, ["report", "--period", "2026-Q9", "--format", "html"], env=env)
    assert bad.exit_code == 2 and "отчёт не сформирован" in bad.output


async def stored_records(settings: Settings, month: str) -> list[IndicatorRecord]:
    context = await open_sla(settings, Metrics())
    try:
        async with context.db.engine.connect() as connection:
            return await current_records(connection, month, M)
    finally:
        await context.db.close()
