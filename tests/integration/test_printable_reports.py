"""The plan/fact report ready to hand on, made from the bundled demo on a real PostgreSQL: the XLSX
read back with openpyxl (numbers with number formats, dates as dates, page setup, title and
signature, no formula), the PDF rendered to pixels with PDFium (pages, not blank, its text), the
Dockerfile giving WeasyPrint what it loads."""

import asyncio
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kernel.observability import Metrics
from kernel.settings import Settings
from services.bundled import DEMO_DATA
from services.cli import app as cli_app
from services.demo.embedded import DEMO_LOGIN, run_embedded
from services.web.app import create_app
from sla.reports.printed import REPORT_TITLE, SIGNATURE, digits_of, number_format, russian
from sla.stage import open_sla
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026"
PERIOD_LABEL = "2026 год"


@pytest.fixture
def demo(
    settings_factory: SettingsFactory, database_url: str, model_dir: Path
) -> Iterator[tuple[Settings, dict[str, str], str]]:
    """The bundled demo replayed as recorded (September and October 2026), its plans bundled."""
    settings = settings_factory(database_url=database_url, model_dir=model_dir)
    result = asyncio.run(run_embedded(settings, DEMO_DATA / "vk_sample.jsonl", serve=False,
                                      as_recorded=True))  # fmt: skip
    env = {
        "OTKLIK_DATABASE_URL": database_url, "OTKLIK_DATA_DIR": str(settings.data_dir),
        "OTKLIK_MODEL_DIR": str(settings.model_dir),
    }  # fmt: skip
    yield settings, env, result.password


def cli_report(env: dict[str, str], fmt: str, output: Path | None) -> bytes:
    target = ["--output", str(output)] if output else []
    args = ["report", "--period", PERIOD, "--format", fmt, *target]
    result = CliRunner().invoke(cli_app, args, env=env)
    assert result.exit_code == 0, result.output
    return output.read_bytes() if output else result.stdout_bytes


def test_xlsx_report_is_ready_to_print(
    demo: tuple[Settings, dict[str, str], str], tmp_path: Path
) -> None:
    _, env, _ = demo
    report = json.loads(cli_report(env, "json", None))
    book = load_workbook(io.BytesIO(cli_report(env, "xlsx", tmp_path / "report.xlsx")))
    sheet = book["План-факт"]

    # No cell of any sheet is a formula.
    assert [c.coordinate for ws in book for row in ws.iter_rows() for c in row
            if c.data_type == "f"] == []  # fmt: skip
    # Title: the report, the period, whom it covers, when it was made (a date cell in the zone).
    assert sheet["A1"].value == REPORT_TITLE and sheet["A1"].font.bold
    assert PERIOD_LABEL in sheet["A2"].value
    names = [section["name"] for section in report["municipalities"]]
    assert all(name in sheet["A3"].value for name in names) and len(names) >= 2
    made = sheet["B4"]
    assert isinstance(made.value, datetime) and made.number_format == "DD.MM.YYYY HH:MM"
    zone = ZoneInfo(report["timezone"])
    generated = datetime.fromisoformat(report["generated_at"]).astimezone(zone)
    assert abs((made.value - generated.replace(tzinfo=None)).total_seconds()) < 1

    # Page setup: A4 landscape, one page wide, the table's header row on every page.
    title_rows = re.fullmatch(r"\$(\d+):\$\1", sheet.print_title_rows)
    assert title_rows is not None
    header_row = int(title_rows[1])
    assert sheet.cell(header_row, 2).value == "Показатель"
    setup = sheet.page_setup
    assert (setup.orientation, int(setup.paperSize)) == ("landscape", 9)  # 9: A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
    assert sheet.page_margins.left >= 0.5 and sheet.page_margins.top >= 0.5
    assert "&P" in sheet.oddFooter.center.text

    # Figures: numbers, rounded as printed, with the unit's number format.
    rows = [[c for c in row] for row in sheet.iter_rows(min_row=header_row + 1, max_col=7)]
    expected = [(s["name"], r) for s in report["municipalities"] for r in s["rows"]]
    table = rows[: len(expected)]
    checked = 0
    for cells, (name, row) in zip(table, expected, strict=True):
        assert (cells[0].value, cells[1].value) == (name, row["title"])
        digits = digits_of(row["unit"])
        for cell, value, places in ((cells[3], row["plan"], digits), (cells[4], row["fact"],
                                    digits), (cells[5], row["achievement"], 2)):  # fmt: skip
            if value is None:
                assert cell.value is None
                continue
            assert cell.data_type == "n" and cell.number_format == number_format(places)
            assert cell.value == round(value, places)
            checked += 1
    assert checked >= 8
    assert number_format(3) == "#,##0.000" and number_format(0) == "#,##0"

    # The signature block under the table.
    labels = [cells[0].value for cells in rows[len(expected) :] if cells[0].value]
    assert labels == list(SIGNATURE)
    assert all(str(cells[1].value).startswith("___") for cells in rows[len(expected):]
               if cells[0].value)  # fmt: skip

    # Months: the revision's time a date cell in the municipality's zone, figures formatted.
    months = book["Ревизии месяцев"]
    assert months.print_title_rows == "$1:$1" and months.page_setup.orientation == "landscape"
    by_key = {(s["name"], m["month"]): m for s in report["municipalities"] for m in s["months"]}
    zones = {s["name"]: ZoneInfo(s["timezone"]) for s in report["municipalities"]}
    dated = 0
    for cells in months.iter_rows(min_row=2):
        source = by_key[(cells[0].value, cells[1].value)]
        if source["record"] is None:
            assert cells[2].value == "нет данных"
            continue
        computed = datetime.fromisoformat(source["computed_at"]).astimezone(zones[cells[0].value])
        assert cells[3].is_date and cells[3].number_format == "DD.MM.YYYY HH:MM"
        assert abs((cells[3].value - computed.replace(tzinfo=None)).total_seconds()) < 1
        assert cells[4].number_format == number_format(3) and cells[4].data_type == "n"
        dated += 1
    assert dated >= 2  # September and October of the demo


def page_pixels(page: Any) -> tuple[int, int, float]:
    """Width, height and the share of pixels that are not white (ink) of a page at 72 dpi."""
    image = page.render(scale=1).to_pil().convert("L")
    histogram = image.histogram()
    ink = sum(histogram[:200]) / (image.width * image.height)
    return image.width, image.height, ink


def test_pdf_report_prints_the_demo_on_two_landscape_pages_at_most(
    demo: tuple[Settings, dict[str, str], str], tmp_path: Path
) -> None:
    settings, env, password = demo
    report = json.loads(cli_report(env, "json", None))
    refused = CliRunner().invoke(cli_app, ["report", "--period", PERIOD, "--format", "pdf"],
                                 env=env)  # fmt: skip
    assert refused.exit_code == 2 and "--output" in refused.output
    data = cli_report(env, "pdf", tmp_path / "report.pdf")
    assert data.startswith(b"%PDF-")

    document = pdfium.PdfDocument(data)
    pages = [document[index] for index in range(len(document))]
    assert 1 <= len(pages) <= 2
    for page in pages:
        width, height, ink = page_pixels(page)
        assert width > height  # landscape
        assert abs(width / height - 297 / 210) < 0.01  # A4
        assert 0.01 < ink < 0.5, ink  # text and rules, not a blank page nor a black one
    text = "".join(page.get_textpage().get_text_range() for page in pages)
    flat = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    assert f"{REPORT_TITLE}: {PERIOD_LABEL}" in flat
    assert "Показатель" in flat and "Составил (Ф. И. О.)" in flat
    a2 = next(r for s in report["municipalities"] for r in s["rows"]
              if r["indicator"] == "a2" and r["fact"] is not None)  # fmt: skip
    assert russian(a2["fact"], 3).replace("\u00a0", " ") in flat

    asyncio.run(_api_pdf(settings, password, data))


async def _api_pdf(settings: Settings, password: str, cli_pdf: bytes) -> None:
    context = await open_sla(settings, Metrics())
    transport = httpx.ASGITransport(app=create_app(context, settings))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            login = {"login": DEMO_LOGIN, "password": password}
            token = (await client.post("/api/login", json=login)).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            response = await client.get(
                "/api/reports/plan-fact", params={"period": PERIOD, "format": "pdf"}
            )
    finally:
        await context.db.close()
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="plan-fact-2026.pdf"'
    served = pdfium.PdfDocument(response.content)
    assert len(served) == len(pdfium.PdfDocument(cli_pdf))


def test_production_image_installs_what_weasyprint_loads() -> None:
    """WeasyPrint's wheel loads Pango (with its FreeType backend), HarfBuzz's subsetter and
    fontconfig at import; python:3.11-slim has none of them and no font at all."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"apt-get install[^&]*", dockerfile.replace("\\\n", " "))
    packages = {word for line in installs for word in line.split() if not word.startswith("-")}
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"} <= packages
    assert any(package.startswith("fonts-") for package in packages)
    # Installed before the Python packages, in the image the stages run from.
    assert dockerfile.index("libpango-1.0-0") < dockerfile.index("requirements-runtime.lock ")
    lock = (ROOT / "requirements-runtime.lock").read_text(encoding="utf-8")
    assert re.search(r"^weasyprint==70\.", lock, re.MULTILINE)
