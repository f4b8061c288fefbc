"""Incident numbers as people read and type them, and the prefix the policy gives them."""

import pytest

from sla.domain.numbers import IncidentNumber, derived_prefix, parse_number
from sla.domain.policy import PolicyError, load_policy

RULES = "rules: [{match: {}, first_response: {working_hours: 8}, final_answer: {working_days: 5}}]"


def policy_text(municipalities: str) -> str:
    return f"version: t\nmunicipalities: {municipalities}\n{RULES}\n"


def test_a_number_is_prefix_year_and_six_digits_and_reads_back() -> None:
    number = IncidentNumber("СЕВ", 2026, 123)
    assert str(number) == "СЕВ-2026-000123"
    assert parse_number(" сев-2026-000123 ") == number
    assert parse_number("СЕВ-2026-1234567") == IncidentNumber("СЕВ", 2026, 1234567)
    for not_a_number in ("inc-0123456789abcdef0123", "СЕВ-26-1", "СЕВ 2026 1", ""):
        assert parse_number(not_a_number) is None


def test_the_prefix_is_the_policy_code_else_the_first_three_letters_of_the_name() -> None:
    assert derived_prefix("Северогорск") == "СЕВ"
    assert derived_prefix("«Ёлкино» посёлок") == "ЁЛК"
    policy = load_policy(
        policy_text("{severogorsk: {name: Северогорск}, zarechny: {name: Заречный, code: ЗР}}")
    )
    assert policy.number_prefix("severogorsk") == "СЕВ"
    assert policy.number_prefix("zarechny") == "ЗР"
    assert policy.municipality_of_prefix("ЗР") == "zarechny"
    assert policy.municipality_of_prefix("ЗАР") is None


def test_two_municipalities_with_one_prefix_or_a_bad_code_are_refused() -> None:
    with pytest.raises(PolicyError, match="одинаковый префикс номеров «ЗАР»"):
        load_policy(policy_text("{a: {name: Заречный}, b: {name: Заречье}}"))
    with pytest.raises(PolicyError, match="code: ожидается от 2 до 6 заглавных букв"):
        load_policy(policy_text("{a: {name: Заречный, code: з-1}}"))
