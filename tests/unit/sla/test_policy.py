from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.domain.policy import PolicyError, load_policy
from sla.policy_file import BUNDLED, load_policy_file

MOSCOW = ZoneInfo("Europe/Moscow")
EXAMPLE = """
version: "2026-09"
defaults: {timezone: Europe/Moscow, working_hours: "09:00-18:00", warning_lead: "90m"}
municipalities:
  a: {name: "А"}
  b: {name: "Б", timezone: Asia/Vladivostok, working_hours: "08:00-17:00"}
rules:
  - match: {channel: vk, category: [housing, roads]}
    first_response: {working_hours: 4}
    final_answer: {working_days: 3}
  - match: {channel: vk}
    first_response: {working_hours: 8}
    final_answer: {working_days: 7}
  - match: {municipality: b}
    first_response: {working_days: 1}
    final_answer: {calendar_days: 30}
  - match: {}
    first_response: {working_hours: 8}
    final_answer: {calendar_days: 30}
"""


def test_bundled_and_documented_policies_load() -> None:
    policy = load_policy_file(None)
    assert policy.version.startswith("default-2026#")
    assert load_policy(BUNDLED.read_text("utf-8")).digest == policy.digest


def test_first_matching_rule_wins() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.rule_for("vk", "roads", "a")[0] == 0
    assert policy.rule_for("vk", "education", "a")[0] == 1
    assert policy.rule_for("email", None, "b")[0] == 2
    assert policy.rule_for("email", None, "a")[0] == 3
    assert policy.warning_lead == timedelta(minutes=90)


def test_deadlines_use_the_municipality_zone_and_hours() -> None:
    policy = load_policy(EXAMPLE)
    start = datetime(2026, 9, 1, 10, 0, tzinfo=MOSCOW)  # 17:00 in Vladivostok
    deadlines = policy.deadlines(channel="email", category=None, municipality="b", start=start)
    vladivostok = ZoneInfo("Asia/Vladivostok")
    assert deadlines.first_response == datetime(2026, 9, 2, 17, 0, tzinfo=vladivostok)
    assert deadlines.final_answer == datetime(2026, 10, 1, 17, 0, tzinfo=vladivostok)
    assert (deadlines.rule, deadlines.policy_version) == ("rules[2]", policy.version)
    unknown = policy.deadlines(channel="vk", category="roads", municipality="zzz", start=start)
    assert unknown.first_response == datetime(2026, 9, 1, 14, 0, tzinfo=MOSCOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("Asia/Vladivostok", "Mars/Olympus"), "municipalities.b.timezone"),
        (lambda t: t.replace('"08:00-17:00"', '"17:00-08:00"'), "municipalities.b.working_hours"),
        (
            lambda t: t.replace("{working_hours: 4}", "{working_hours: -4}"),
            "rules[0].first_response.working_hours",
        ),
        (
            lambda t: t.replace("{working_days: 3}", "{working_days: 3, calendar_days: 2}"),
            "rules[0].final_answer",
        ),
        (
            lambda t: t.replace("  - match: {}\n", "  - match: {channel: web}\n"),
            "последнее правило",
        ),
        (
            lambda t: t.replace("{municipality: b}", "{municipality: c}"),
            "неизвестный муниципалитет 'c'",
        ),
        (
            lambda t: t.replace('warning_lead: "90m"', 'warning_lead: "soon"'),
            "defaults.warning_lead",
        ),
        (lambda t: t.replace("rules:", "rulez:"), "rulez"),
        (lambda t: t + "\n  - [", "не YAML"),
    ],
)
def test_invalid_policies_say_what_and_where(change: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_policy(change(EXAMPLE))  # type: ignore[operator]
