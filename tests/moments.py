"""The moments the time-dependent tests run at, instead of whatever the wall clock says.

Every test that needs "now" takes it from the ``clock`` fixture (tests/conftest.py), which starts
at the ``moment`` fixture: ``DEFAULT`` for the whole suite (``pytest --moment NAME`` picks another
of ``SUITE_MOMENTS``),
and each of ``MOMENTS`` for the tests marked ``@every_moment`` — those whose expectations turn on
the weekday, the holidays or the month. Processes started by the tests get the same clock through
``OTKLIK_CLOCK_OFFSET``.
Chosen from the production calendar (sla/calendar.py) as the days on which deadlines, warnings
and months behave differently from a plain Tuesday.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

MOSCOW = ZoneInfo("Europe/Moscow")
MOMENTS = {
    # A deadline of one calendar day lands on Saturday and moves to Monday evening.
    "friday-evening": datetime(2026, 11, 27, 19, 30, tzinfo=MOSCOW),
    # The last working day before eleven days off (31 December 2026 to 10 January 2027).
    "eve-of-new-year-holidays": datetime(2026, 12, 30, 19, 0, tzinfo=MOSCOW),
    # A day off; already the new year in Vladivostok.
    "new-years-eve": datetime(2026, 12, 31, 22, 0, tzinfo=MOSCOW),
    # A Saturday made a working day (the holiday of 3 November moved from it).
    "working-saturday": datetime(2025, 11, 1, 11, 0, tzinfo=MOSCOW),
    # The last evening of November in Moscow, 03:30 on 1 December in Vladivostok.
    "month-end-in-moscow": datetime(2026, 11, 30, 20, 30, tzinfo=MOSCOW),
}
DEFAULT = "friday-evening"
# The bundled demo sample (services/demo/data/vk_sample.jsonl) ends in October 2026 and some tests
# load it as it is, so the whole suite runs only at a moment after it (``--moment``); the tests
# marked ``@every_moment`` build their data around the moment and run at all of them.
DEMO_SAMPLE_ENDS = datetime(2026, 11, 1, tzinfo=MOSCOW)
SUITE_MOMENTS = sorted(name for name, moment in MOMENTS.items() if moment >= DEMO_SAMPLE_ENDS)

every_moment = pytest.mark.parametrize("moment", list(MOMENTS.values()), ids=list(MOMENTS))


def chosen(config: pytest.Config) -> datetime:
    """The suite's moment: ``--moment``, or the default."""
    return MOMENTS[str(config.getoption("moment"))]
