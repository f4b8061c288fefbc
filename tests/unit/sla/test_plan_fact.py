"""The plan/fact report and the plans file: expected numbers written by hand."""

from datetime import UTC, datetime

import pytest

from kernel.contracts.indicators import IndicatorRecord
from sla.domain.plan_fact import PlanFactReport, Verdict, build_report, parse_period
from sla.domain.plans import Plans, PlansError, load_plans

KNOWN = {"severogorsk", "zarechny"}
PLANS = """\
years:
  2026:
    default:
      a2: 1.0
      share_processed: 90
      share_negative: 20
      n_positive_neutral: 1200
    municipalities:
      zarechny:
        a2: 1.1
"""
AT = datetime(2026, 11, 25, 5, tzinfo=UTC)


def record(month: str, a2: float | None, **values: float | int | None) -> IndicatorRecord:
    fields: dict[str, object] = {
        "municipality": "severogorsk", "month": month, "revision": 1, "computed_at": AT,
        "n_assigned": 0, "n_handled_on_time": 0, "ratio": None, "k_ob": None, "a2": a2,
        "threshold_t": 150, "share_processed": None, "share_negative": None,
        "n_messages": 0, "n_negative": 0, "n_positive_neutral": 0, **values,
    }  # fmt: skip
    return IndicatorRecord.model_validate(fields)


def report(
    records: list[IndicatorRecord], period: str = "2026-Q3", municipality: str | None = None
) -> PlanFactReport:
    return build_report(
        load_plans(PLANS, KNOWN), parse_period(period), records,
        names={"severogorsk": "Северогорск"}, generated_at=AT, timezone="Europe/Moscow",
        municipality=municipality,
    )  # fmt: skip


QUARTER = [
    record("2026-07", 1.2, share_processed=100.0, share_negative=30.0, n_positive_neutral=100),
    record("2026-08", 0.95, share_processed=80.0, share_negative=20.0, n_positive_neutral=150),
    record("2026-09", None, share_negative=25.0, n_positive_neutral=50),
]


Row = tuple[float | None, float | None, float | None, Verdict]


def rows(built: PlanFactReport, municipality: str = "severogorsk") -> dict[str, Row]:
    section = next(s for s in built.municipalities if s.municipality == municipality)
    return {
        row.indicator: (row.plan, row.fact, row.achievement, row.verdict) for row in section.rows
    }


def test_quarter_facts_are_monthly_means_and_count_sums_against_the_plan() -> None:
    got = rows(report(QUARTER, municipality="severogorsk"))
    # A_2: (1.2 + 0.95) / 2 = 1.075 (September has no data) -> 107.5 % of 1.0.
    assert got["a2"] == (1.0, 1.075, 107.5, Verdict.EFFECTIVE)
    # Processed: (100 + 80) / 2 = 90 of plan 90 -> 100 %.
    assert got["share_processed"] == (90.0, 90.0, 100.0, Verdict.EFFECTIVE)
    # Negative, lower is better: (30 + 20 + 25) / 3 = 25 against plan 20 -> 20 / 25 = 80 %.
    assert got["share_negative"] == (20.0, 25.0, 80.0, Verdict.INEFFECTIVE)
    # Count: 100 + 150 + 50 = 300 against a quarter's share of 1200: 300 -> 100 %.
    assert got["n_positive_neutral"] == (300.0, 300.0, 100.0, Verdict.EFFECTIVE)


def test_each_month_names_its_revision_and_a_month_without_data_says_so() -> None:
    revised = [QUARTER[0].model_copy(update={"revision": 3}), QUARTER[1]]
    section = report(revised, municipality="severogorsk").municipalities[0]
    assert [(m.month, m.revision) for m in section.months] == [
        ("2026-07", 3), ("2026-08", 1), ("2026-09", None),
    ]  # fmt: skip
    assert section.name == "Северогорск"


def test_just_below_95_percent_is_ineffective_and_95_is_effective() -> None:
    assert rows(report([record("2026-07", 0.949)]))["a2"][3] is Verdict.INEFFECTIVE
    assert rows(report([record("2026-07", 0.95)]))["a2"][2:] == (95.0, Verdict.EFFECTIVE)


def test_no_negative_messages_beats_any_plan() -> None:
    got = rows(report([record("2026-07", 1.0, share_negative=0.0)]))
    assert got["share_negative"] == (20.0, 0.0, None, Verdict.EFFECTIVE)


def test_municipality_plan_overrides_the_default_and_no_data_is_not_zero() -> None:
    got = rows(report(QUARTER), "zarechny")  # named in the plans, no data at all
    assert got["a2"] == (1.1, None, None, Verdict.NO_DATA)
    assert got["share_processed"] == (90.0, None, None, Verdict.NO_DATA)


def test_year_without_plans_says_plan_not_set() -> None:
    built = report([record("2025-07", 1.0)], period="2025")
    assert rows(built)["a2"] == (None, 1.0, None, Verdict.NO_PLAN)
    assert [s.municipality for s in built.municipalities] == ["severogorsk"]


@pytest.mark.parametrize(
    ("code", "months", "label"),
    [
        ("2026", [f"2026-{n:02d}" for n in range(1, 13)], "2026 год"),
        ("2026-Q3", ["2026-07", "2026-08", "2026-09"], "III квартал 2026 г."),
        ("2026-H2", [f"2026-{n:02d}" for n in range(7, 13)], "II полугодие 2026 г."),
        ("2026-09", ["2026-09"], "сентябрь 2026 г."),
    ],
)
def test_periods(code: str, months: list[str], label: str) -> None:
    period = parse_period(code)
    assert (list(period.months), period.label, period.year) == (months, label, 2026)


@pytest.mark.parametrize("code", ["2026-Q5", "2026-13", "26", "2026-h1", "2026-Q3 ", "2026\n"])
def test_bad_period_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="ожидается 2026, 2026-Q3"):
        parse_period(code)


def test_half_year_count_plan_is_half_the_yearly_plan() -> None:
    assert rows(report(QUARTER, period="2026-H2"))["n_positive_neutral"][0] == 600.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            PLANS + "      novgorod:\n        a2: 1.0\n",
            "years.2026.municipalities.novgorod (строка 11): неизвестный муниципалитет 'novgorod'",
        ),
        (
            PLANS.replace("a2: 1.0", "a2: -1"),
            "years.2026.default.a2 (строка 4): должно быть больше 0, указано -1",
        ),
        (
            PLANS.replace("share_negative: 20", "share_negative: 120"),
            "years.2026.default.share_negative (строка 6): должно быть не больше 100",
        ),
        (
            PLANS.replace("n_positive_neutral: 1200", "n_positive_neutral: много"),
            "years.2026.default.n_positive_neutral (строка 7): ожидается целое число",
        ),
        (PLANS.replace("a2: 1.1", "a_2: 1.1"), "zarechny.a_2 (строка 10): неизвестный ключ"),
        (PLANS.replace("2026:", "двадцать:"), "years.двадцать (строка 2): ожидается год"),
        ("years:\n  1990: {}\n", "years.1990 (строка 2): год вне диапазона"),
        ("years: [", "не YAML"),
        ("", "файл: ожидается словарь"),
    ],
)
def test_invalid_plans_file_is_refused_naming_key_and_line(text: str, expected: str) -> None:
    with pytest.raises(PlansError) as raised:
        load_plans(text, KNOWN)
    assert expected in str(raised.value)


def test_plans_version_changes_with_the_file() -> None:
    first, second = load_plans(PLANS, KNOWN), load_plans(PLANS + "\n", KNOWN)
    assert isinstance(first, Plans) and first.version != second.version
