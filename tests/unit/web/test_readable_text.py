"""What a person reads instead of codes: otklik's actors, the SLA rule, moments, numbers."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.web.ui.labels import actor_name
from services.web.ui.policy_text import basis
from sla.domain.local_time import local_text
from sla.domain.numbers import with_number
from sla.domain.policy import load_policy
from sla.reports.indicator_views import readable_incident

POLICY = load_policy(
    """version: t
municipalities: {severogorsk: {name: Северогорск}}
rules:
  - match: {channel: [email, web], municipality: severogorsk}
    first_response: {working_hours: 4.5}
    final_answer: {calendar_days: 30}
  - match: {channel: vk}
    first_response: {working_hours: 8}
    final_answer: {working_days: 5}
  - {match: {}, first_response: {working_days: 1}, final_answer: {working_days: 7}}
"""
)
MOMENT = datetime(2026, 9, 3, 7, 20, 28, tzinfo=UTC)


def test_otklik_actors_are_named_in_russian_and_people_by_login() -> None:
    assert actor_name("classifier") == "классификатор"
    assert actor_name("router") == "маршрутизатор"
    assert actor_name("watcher") == "контроль сроков"
    assert actor_name("source", "vk") == "источник (ВКонтакте)"
    assert actor_name("ldap") == "каталог LDAP"
    assert actor_name("anna") == "anna"


def test_the_rule_is_told_in_words_only_for_the_policy_loaded() -> None:
    assert basis(POLICY, POLICY.version, "rules[1]") == (
        "ВКонтакте, все категории: первый ответ — 8 раб. ч, ответ по существу — 5 раб. дн."
    )
    assert basis(POLICY, POLICY.version, "rules[0]") == (
        "Эл. почта, Интернет-приёмная, все категории, Северогорск: первый ответ — 4,5 раб. ч, "
        "ответ по существу — 30 кал. дн."
    )
    assert basis(POLICY, "t#00000000", "rules[1]") is None  # another version's rules
    assert basis(POLICY, POLICY.version, "rules[9]") is None
    assert basis(POLICY, None, None) is None


def test_moments_are_shown_in_the_zone_in_russian_order() -> None:
    assert local_text(MOMENT, ZoneInfo("Europe/Moscow")) == "03.09.2026 10:20"
    assert local_text(MOMENT, ZoneInfo("Asia/Vladivostok")) == "03.09.2026 17:20"
    assert local_text(None, ZoneInfo("Europe/Moscow")) == "—"


def test_a_row_gets_its_number_and_a_drill_down_row_its_local_moments() -> None:
    # Reassigned elsewhere, it keeps the number its first municipality gave it.
    row = {"municipality": "x", "number_municipality": "severogorsk", "number_year": 2026,
           "number_seq": 123}  # fmt: skip
    assert with_number(row, POLICY.number_prefix) == {
        "municipality": "x", "number": "СЕВ-2026-000123",
    }  # fmt: skip
    stored = {
        "incident_id": "inc-1", "number_municipality": "severogorsk", "number_year": 2026,
        "number_seq": 7, "assigned_at": MOMENT,
        "first_response_due": MOMENT, "first_response_at": None, "final_answer_due": MOMENT,
        "final_answer_at": None,
    }  # fmt: skip
    shown = readable_incident(stored, POLICY.number_prefix, ZoneInfo("Europe/Moscow"))
    assert list(shown)[:2] == ["number", "incident_id"]
    assert shown["number"] == "СЕВ-2026-000007"
    assert shown["assigned_at"] == MOMENT  # the machine-readable column stays
    assert shown["assigned_at_local"] == "03.09.2026 10:20"
    assert shown["final_answer_at_local"] == "—"
