"""XLSX files: the month's indicators (one row per municipality) and the plan/fact report.

Indicators: row 1 holds Russian headers for people, row 2 the English field names of the JSON/CSV
export for programs (so one file serves both and a field added to IndicatorRecord later still
gets a column, titled by its field name until it gets a Russian title here); data from row 3.
Every row is written by sla.reports.spreadsheet.append_row: a text is never a formula.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from kernel.contracts.indicators import IndicatorRecord
from sla.domain.plan_fact import PlanFactReport
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
    "Муниципалитет", "Месяц", "Ревизия", "Рассчитано",
    "A_2, балл", "Доля обработанных, %", "Доля негативных, %", "Позитивных и нейтральных",
)  # fmt: skip
BOLD = Font(bold=True)


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


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def plan_fact_xlsx(report: PlanFactReport) -> bytes:
    zone = ZoneInfo(report.timezone)
    book = new_book()
    sheet = book.active
    sheet.title = "План-факт"
    append_row(sheet, [f"Отчёт план/факт муниципальной программы: {report.period.label}"])
    append_row(sheet, [
        f"Отчёт сформирован {_local(report.generated_at, zone)} ({report.timezone}); "
        f"файл планов {report.plans_version}; эффективно при исполнении "
        f"≥ {report.effective_threshold:g} %"
    ])  # fmt: skip
    sheet["A1"].font = BOLD
    append_row(sheet, [])
    append_row(sheet, REPORT_HEADER)
    _bold_row(sheet, 4)
    for section in report.municipalities:
        for row in section.rows:
            append_row(sheet, [
                section.name, row.title, row.unit, row.plan, row.fact, row.achievement,
                row.verdict.value,
            ])  # fmt: skip
    sheet.freeze_panes = "A5"
    _widths(sheet, [22, 48, 9, 11, 11, 14, 16])
    _months_sheet(book.create_sheet("Ревизии месяцев"), report, zone)
    return book_bytes(book)


def _months_sheet(sheet: Any, report: PlanFactReport, zone: ZoneInfo) -> None:
    """Which stored revision each month's facts come from: the audit trail of the report."""
    append_row(sheet, MONTHS_HEADER)
    _bold_row(sheet, 1)
    for section in report.municipalities:
        for month in section.months:
            record = month.record
            if record is None:
                append_row(sheet, [section.name, month.month, "нет данных"])
                continue
            append_row(sheet, [
                section.name, month.month, record.revision, _local(record.computed_at, zone),
                record.a2, record.share_processed, record.share_negative,
                record.n_positive_neutral,
            ])  # fmt: skip
    sheet.freeze_panes = "A2"
    _widths(sheet, [22, 10, 12, 18, 11, 14, 14, 14])
