"""XLSX files: the month's indicators (one row per municipality) and the plan/fact report,
the latter ready to print and hand on (sla.reports.printed rounds and formats its figures).

Indicators: row 1 holds Russian headers for people, row 2 the English field names of the JSON/CSV
export for programs (so one file serves both and a field added to IndicatorRecord later still
gets a column, titled by its field name until it gets a Russian title here); data from row 3.
Every row is written by sla.reports.spreadsheet.append_row: a text is never a formula.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from kernel.contracts.indicators import IndicatorRecord
from sla.domain.plan_fact import PlanFactReport
from sla.reports.printed import (
    ACHIEVEMENT_DIGITS,
    REPORT_TITLE,
    SIGNATURE,
    covers,
    digits_of,
    number_format,
    shown,
)
from sla.reports.spreadsheet import append_row, book_bytes, new_book

FIELD_TITLES = {
    "municipality": "Муниципалитет",
    "month": "Месяц",
    "revision": "Ревизия",
    "computed_at": "Рассчитано",
    "n_assigned": "Назначено (N_назн)",
    "n_handled_on_time": "Отработано в срок (N_отр)",
    "ratio": "N_отр / N_назн",
    "k_ob": "k_об",
    "a2": "A_2, балл",
    "threshold_t": "Порог T",
    "share_processed": "Доля обработанных, %",
    "share_negative": "Доля негативных, %",
    "n_messages": "Сообщений жителей",
    "n_negative": "Негативных",
    "n_positive_neutral": "Позитивных и нейтральных",
    "first_response_median_hours": "Первый ответ, медиана, ч",
    "first_response_p90_hours": "Первый ответ, 90-й процентиль, ч",
    "final_answer_median_hours": "Окончательный ответ, медиана, ч",
    "final_answer_p90_hours": "Окончательный ответ, 90-й процентиль, ч",
    "closed": "Месяц закрыт",
}
REPORT_HEADER = (
    "Муниципалитет", "Показатель", "Ед. изм.", "План", "Факт", "Исполнение, %", "Оценка",
)  # fmt: skip
MONTHS_HEADER = (
    "Муниципалитет", "Месяц", "Ревизия", "Рассчитано (время муниципалитета)",
    "A_2, балл", "Доля обработанных, %", "Доля негативных, %", "Позитивных и нейтральных",
)  # fmt: skip
MOMENT_FORMAT = "DD.MM.YYYY HH:MM"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
SHADE = PatternFill("solid", fgColor="EEEEEE")
_THIN = Side(style="thin")
GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _bold_row(sheet: Any, row: int) -> None:
    for cell in sheet[row]:
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(sheet: Any, widths: Sequence[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def indicators_xlsx(records: Sequence[IndicatorRecord]) -> bytes:
    fields = list(IndicatorRecord.model_fields)
    book = new_book()
    sheet = book.active
    sheet.title = "Показатели"
    append_row(sheet, [FIELD_TITLES.get(name, name) for name in fields])
    append_row(sheet, fields)
    _bold_row(sheet, 1)
    for record in records:
        # JSON mode: computed_at stays ISO 8601 with its offset (Excel has no time zones).
        values = record.model_dump(mode="json")
        append_row(sheet, [values[name] for name in fields])
    sheet.freeze_panes = "A3"
    _widths(sheet, [16] * len(fields))
    return book_bytes(book)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """The moment as the clock on the wall there shows it: Excel has no time zones, so the cell
    holds that local time and the header names the zone."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _title(sheet: Any, report: PlanFactReport, zone: ZoneInfo) -> None:
    append_row(sheet, [REPORT_TITLE])
    append_row(sheet, [f"Период: {report.period.label} ({report.period.code})"])
    append_row(sheet, [covers(report)])
    append_row(sheet, ["Сформирован", _local(report.generated_at, zone), report.timezone])
    append_row(sheet, [
        f"Файл планов: версия {report.plans_version}; эффективно при исполнении "
        f"≥ {report.effective_threshold:g} %"
    ])  # fmt: skip
    sheet["A1"].font = TITLE
    sheet["B4"].number_format = MOMENT_FORMAT
    sheet["B4"].alignment = Alignment(horizontal="left")
    append_row(sheet, [])


def _signature(sheet: Any) -> None:
    """Lines to fill in by hand: the report is handed on signed."""
    append_row(sheet, [])
    for label in SIGNATURE:
        append_row(sheet, [label, "_" * 40])
        sheet.cell(sheet.max_row, 1).font = BOLD


def _print_setup(sheet: Any, header_row: int) -> None:
    """A4 landscape, one page wide (as many long as it takes), the table's header on every page,
    page numbers in the footer."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # 0: as many pages long as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_margins = PageMargins(left=0.6, right=0.4, top=0.6, bottom=0.6)
    sheet.oddFooter.center.text = "Страница &P из &N"
    sheet.freeze_panes = f"A{header_row + 1}"


def _table_row(sheet: Any, values: Sequence[object], formats: Mapping[int, str]) -> None:
    append_row(sheet, values)
    row = sheet.max_row
    for column in range(1, len(values) + 1):
        cell = sheet.cell(row, column)
        cell.border = GRID
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if column in formats:
            cell.number_format = formats[column]


def _header(sheet: Any, titles: Sequence[str]) -> int:
    _table_row(sheet, titles, {})
    row = sheet.max_row
    for cell in sheet[row]:
        cell.font = BOLD
        cell.fill = SHADE
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    return int(row)


def plan_fact_xlsx(report: PlanFactReport) -> bytes:
    """Ready to print and hand on (docs/indicators.md, «Printable reports»): a title, the table
    with figures rounded as printed and number formats, a signature block, page setup."""
    zone = ZoneInfo(report.timezone)
    book = new_book()
    sheet = book.active
    sheet.title = "План-факт"
    _title(sheet, report, zone)
    header_row = _header(sheet, REPORT_HEADER)
    for section in report.municipalities:
        for row in section.rows:
            digits = digits_of(row.unit)
            _table_row(
                sheet,
                [
                    section.name, row.title, row.unit, shown(row.plan, digits),
                    shown(row.fact, digits), shown(row.achievement, ACHIEVEMENT_DIGITS),
                    row.verdict.value,
                ],
                {4: number_format(digits), 5: number_format(digits),
                 6: number_format(ACHIEVEMENT_DIGITS)},
            )  # fmt: skip
    _signature(sheet)
    _print_setup(sheet, header_row)
    _widths(sheet, [24, 46, 8, 11, 11, 13, 16])
    _months_sheet(book.create_sheet("Ревизии месяцев"), report)
    return book_bytes(book)


def _months_sheet(sheet: Any, report: PlanFactReport) -> None:
    """Which stored revision each month's facts come from: the audit trail of the report."""
    header_row = _header(sheet, MONTHS_HEADER)
    formats = {
        4: MOMENT_FORMAT, 5: number_format(digits_of("балл")), 6: number_format(digits_of("%")),
        7: number_format(digits_of("%")), 8: number_format(digits_of("шт.")),
    }  # fmt: skip
    for section in report.municipalities:
        zone = ZoneInfo(section.timezone)
        for month in section.months:
            record = month.record
            if record is None:
                _table_row(sheet, [section.name, month.month, "нет данных"], {})
                continue
            _table_row(sheet, [
                section.name, month.month, record.revision, _local(record.computed_at, zone),
                shown(record.a2, digits_of("балл")), shown(record.share_processed, digits_of("%")),
                shown(record.share_negative, digits_of("%")), record.n_positive_neutral,
            ], formats)  # fmt: skip
    _print_setup(sheet, header_row)
    _widths(sheet, [24, 10, 10, 18, 11, 14, 14, 14])
