"""The command line takes the months the web takes (sla/domain/plan_fact.MONTH_PATTERN): a year
0000 or 9999 is a clear usage error, before anything is read."""

import pytest
from typer.testing import CliRunner

from services.cli import app


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-13", "26-01"])
@pytest.mark.parametrize("command", [["indicators"], ["ranking"]])
def test_a_month_out_of_range_is_a_usage_error(command: list[str], month: str) -> None:
    result = CliRunner().invoke(app, [*command, "--month", month])
    assert result.exit_code == 2, result.output
    assert "год 1900–2999" in result.output
