"""An appeal's department is a known value (ingest/domain/appeals.py): one the categories route
to or the channel's own, whatever case it came in; anything else is the channel's default."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.domain.appeals import department_of, normalise_appeal
from kernel.contracts.messages import Channel
from tests.factories import appeal_source

WEB = appeal_source(Channel.WEB, department="Отдел приёма граждан")
BARE = appeal_source(Channel.WEB)  # no default department


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, ("Отдел приёма граждан", None)),
        ("  ", ("Отдел приёма граждан", None)),
        ("ЖКХ", ("ЖКХ", None)),
        (" жкх ", ("ЖКХ", None)),
        ("отдел ПРИЁМА граждан", ("Отдел приёма граждан", None)),
        ("Отдел №7: звоните 8-800", ("Отдел приёма граждан", "Отдел №7: звоните 8-800")),
    ],
)
def test_a_known_department_is_kept_as_written_by_otklik_and_any_other_gives_the_default(
    given: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert department_of({"department": given}, WEB) == expected


def test_without_a_default_an_unknown_department_is_none_in_the_message() -> None:
    record = {"external_id": 1, "text": "Нет воды", "department": "x" * 500}
    message = normalise_appeal(
        record, BARE, received_at=datetime(2026, 9, 1, tzinfo=UTC), zone=ZoneInfo("UTC")
    )
    assert message.department is None
    assert department_of(record, BARE) == (None, "x" * 500)
