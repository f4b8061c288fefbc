"""What the printable plan/fact reports (XLSX, HTML, PDF) share, so that the spreadsheet and the
printed page read the same (docs/indicators.md, «Printable reports»): the title, the signature
block, and one table of decimals per unit.

A_2 in points with 3 decimals: the methodology's worked examples (0.95, 1.05, 1.2) show exactly,
and the third decimal keeps apart months the rating tells apart. Shares in percent with 1
decimal (22.2), counts of messages whole. Achievement keeps the 2 decimals it is computed with:
rounded to one, 94.96 % would print as 95.0 next to «неэффективно».
"""

from sla.domain.plan_fact import PlanFactReport

REPORT_TITLE = "Отчёт план/факт муниципальной программы"
SIGNATURE = ("Составил (Ф. И. О.)", "Должность", "Подпись", "Дата")
DIGITS = {"балл": 3, "%": 1, "шт.": 0}
ACHIEVEMENT_DIGITS = 2
OTHER_DIGITS = 2


def digits_of(unit: str) -> int:
    return DIGITS.get(unit, OTHER_DIGITS)


def shown(value: float | None, digits: int) -> float | None:
    """The value as printed: rounded to ``digits`` (the cell then sums as the page reads)."""
    return None if value is None else round(value, digits)


def number_format(digits: int) -> str:
    """The spreadsheet's format code: thousands grouped, ``digits`` fixed decimals (the reader's
    locale picks the separators, a space and a comma in Russian)."""
    return "#,##0" + ("." + "0" * digits if digits else "")


def russian(value: float | None, digits: int) -> str:
    """The same figure in Russian notation for HTML and PDF: a decimal comma, a no-break space
    between thousands, ``digits`` fixed decimals; «—» for no value."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".replace(",", "\u00a0").replace(".", ",")


def covers(report: PlanFactReport) -> str:
    """Whom the report is about, for its title: one municipality, or the list of them."""
    names = [section.name for section in report.municipalities]
    if len(names) == 1:
        return f"Муниципалитет: {names[0]}"
    return f"Муниципалитеты: {', '.join(names)}" if names else "Муниципалитеты: нет данных"
