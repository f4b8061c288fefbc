"""Golden tests: the worked examples of the methodology, expected numbers written by hand."""

import pytest

from sla.domain.indicators import (
    a2,
    achievement,
    is_effective,
    percentile,
    period_mean,
    share_percent,
)


@pytest.mark.parametrize(
    ("n_assigned", "n_on_time", "ratio", "k_ob", "value"),
    [
        (200, 200, 1.0, 1.2, 1.2),
        (200, 190, 0.95, 1.0, 0.95),
        (120, 120, 1.0, 1.0, 1.0),
        (151, 151, 1.0, 1.2, 1.2),
        (150, 150, 1.0, 1.0, 1.0),
    ],
)
def test_methodology_examples_with_t_150(
    n_assigned: int, n_on_time: int, ratio: float, k_ob: float, value: float
) -> None:
    result = a2(n_assigned, n_on_time, threshold_t=150)
    assert (result.ratio, result.k_ob, result.value) == (ratio, k_ob, value)


def test_threshold_250_removes_the_bonus_for_200_of_200() -> None:
    assert a2(200, 200, threshold_t=250).value == 1.0
    assert a2(251, 251, threshold_t=250).value == 1.2


def test_quarter_is_the_mean_of_monthly_values() -> None:
    assert period_mean([1.2, 0.95, 1.0]) == 1.05


def test_month_without_assignments_is_no_data_and_left_out_of_the_mean() -> None:
    empty = a2(0, 0, threshold_t=150)
    assert (empty.ratio, empty.k_ob, empty.value) == (None, None, None)
    assert period_mean([1.0, None, 0.5]) == 0.75
    assert period_mean([None, None]) is None


def test_on_time_cannot_exceed_assigned() -> None:
    with pytest.raises(ValueError, match="N_отр"):
        a2(10, 11, threshold_t=150)


def test_shares_and_percentiles() -> None:
    assert share_percent(1, 4) == 25.0
    assert share_percent(0, 0) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0], 90) == 10.0
    assert percentile([], 50) is None


def test_effectiveness_rule_at_95_percent() -> None:
    assert achievement(95, 100) == 95.0
    assert is_effective(95.0) is True
    assert is_effective(94.99) is False
    assert achievement(1, 0) is None
