"""Who has an incident open (services/web/presence.py), on explicit times."""

from datetime import UTC, datetime, timedelta

from services.web.presence import TTL, Presence, Viewer

T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
ANNA, BORIS = Viewer("Анна Петрова", "anna"), Viewer("Борис Иванов", "boris")


def test_viewers_are_those_heard_of_within_the_ttl() -> None:
    presence = Presence()
    presence.report("inc-1", BORIS, T0, leaving=False)
    presence.report("inc-1", ANNA, T0 + timedelta(seconds=5), leaving=False)
    presence.report("inc-2", ANNA, T0 + timedelta(seconds=5), leaving=False)
    assert presence.viewers("inc-1") == [ANNA, BORIS]  # by name
    # Boris's page stopped reporting (closed without a goodbye, or the network): gone after TTL.
    presence.report("inc-1", ANNA, T0 + TTL + timedelta(seconds=1), leaving=False)
    assert presence.viewers("inc-1") == [ANNA]
    assert presence.viewers("inc-3") == []


def test_a_closed_page_says_goodbye_and_nothing_is_kept_for_it() -> None:
    presence = Presence()
    presence.report("inc-1", ANNA, T0, leaving=False)
    presence.report("inc-1", ANNA, T0 + timedelta(seconds=1), leaving=True)
    assert presence.viewers("inc-1") == []
    assert presence._seen == {}  # memory holds only open pages
