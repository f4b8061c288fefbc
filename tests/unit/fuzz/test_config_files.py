"""Fuzzing the files people edit or hand over: the SLA policy, the plans, the sources and the
``otklik replay`` history.

Property: a file is loaded or refused with its documented error (``PolicyError``, ``PlansError``,
``SourcesFileError``, ``HistoryError`` naming every bad line and no good one); nothing else is
raised, nothing hangs, and a policy that loads computes every deadline.
"""

import copy
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.sources_file import SourcesFileError, load_sources
from sla.domain.calendar import CalendarYearMissingError, last_year
from sla.domain.history import HistoryError, parse_history
from sla.domain.plans import PlansError, load_plans
from sla.domain.policy import PolicyError, load_policy
from tests.unit.fuzz.inputs import (
    DEEP,
    MEGABYTE,
    deep_json,
    garbage_bytes,
    hostile_values,
    huge_integers,
    nasty_text,
)

NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
# Loading a file and computing its deadlines: well under a second; seconds on a loaded machine.
LOAD_SECONDS = 10.0

POLICY: dict[str, Any] = {
    "version": "2026-09",
    "defaults": {"timezone": "Europe/Moscow", "working_hours": "09:00-18:00",
                 "warning_lead": "2h", "reassignment_restarts_clock": False},
    "municipalities": {"a": {"name": "А", "region": "r"},
                       "b": {"name": "Б", "timezone": "Asia/Vladivostok",
                             "working_hours": "08:00-17:00"}},
    "rules": [
        {"match": {"channel": "vk", "category": ["roads"]},
         "first_response": {"working_hours": 4}, "final_answer": {"working_days": 3}},
        {"match": {"municipality": "b"},
         "first_response": {"working_days": 1}, "final_answer": {"calendar_days": 30}},
        {"match": {}, "first_response": {"working_hours": 8}, "final_answer": {"working_days": 7}},
    ],
}  # fmt: skip
PLACES = [
    ("version",),
    ("defaults", "timezone"),
    ("defaults", "working_hours"),
    ("defaults", "warning_lead"),
    ("municipalities", "b", "timezone"),
    ("municipalities", "b", "working_hours"),
    ("municipalities", "a"),
    ("rules", 0, "match", "category"),
    ("rules", 1, "first_response", "working_days"),
    ("rules", 1, "final_answer", "calendar_days"),
    ("rules", 2, "first_response", "working_hours"),
    ("rules", 2, "final_answer"),
    ("rules",),
]
ZONES = ["Europe/Moscow", "Mars/Olympus", "", "..", "/etc/passwd", "Europe", "posixrules",
         "zone.tab", "a\x00", "\ud800", "x" * 300, "Asia/Kamchatka"]  # fmt: skip
HOURS = ["09:00-18:00", "00:00-00:00:00.000001", "09:00+03:00-18:00", "09:00-09:30", "-",
         "23:00-23:59", "25:00-26:00", "9-18", "00:00-23:59:59.999999",
         "08:00-17:00-1"]  # fmt: skip
LEADS = ["2h", "0m", "99999999999999d", "9" * 400 + "m", "1.5d", "366d", "367d", "soon"]
AMOUNTS = st.sampled_from([0, -1, 1, 366, 367, 10**9, 10**30, 1e-300, 8784, 8785, 1e308]) | (
    st.floats(allow_nan=True, allow_infinity=True)
)
policy_values = (
    hostile_values
    | st.sampled_from(ZONES + HOURS + LEADS)
    | AMOUNTS
    | st.fixed_dictionaries({"working_hours": AMOUNTS})
    | st.fixed_dictionaries({"working_days": AMOUNTS, "calendar_days": AMOUNTS})
)


def replaced(document: dict[str, Any], place: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    holder = changed
    for key in place[:-1]:
        holder = holder[key]
    holder[place[-1]] = value
    return changed


def as_yaml(document: Any) -> str:
    """JSON is YAML: a document as text, however hostile its values (a nesting too deep even
    for json as the deepest YAML text there is)."""
    try:
        return json.dumps(document)
    except RecursionError:
        return "[" * DEEP


def alias_bomb(levels: int) -> str:
    """Nine references to nine references ...: a few lines, 9**levels values once expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


YAML_TEXTS = st.sampled_from(
    [
        "[" * MEGABYTE,  # minutes in the pure-Python parser
        "{a: " * DEEP,
        "".join("  " * i + "a:\n" for i in range(2_000)),
        "version: " + "9" * 5000,  # over Python's 4,300-digit int() limit
        alias_bomb(7),
        "&a [*a]",
        "version: 1\x00",
        "\ufeffversion: 1\n\trules: []",
        "!!python/object/apply:os.system ['echo pwned']",
    ]
)


def policy_texts() -> st.SearchStrategy[str]:
    mutated = st.builds(replaced, st.just(POLICY), st.sampled_from(PLACES), policy_values)
    return mutated.map(as_yaml) | YAML_TEXTS | nasty_text


@settings(max_examples=150, deadline=None)
@given(text=policy_texts())
@example(text=as_yaml(replaced(POLICY, ("defaults", "working_hours"), "09:00+03:00-18:00")))
@example(text=as_yaml(replaced(POLICY, ("defaults", "working_hours"), "00:00-00:00:00.000001")))
@example(text=as_yaml(replaced(POLICY, ("defaults", "warning_lead"), "99999999999999d")))
@example(text=as_yaml(replaced(POLICY, ("rules", 2, "first_response"), {"working_hours": 1e308})))
@example(text=as_yaml(replaced(POLICY, ("rules", 1, "final_answer"), {"calendar_days": 10**9})))
@example(text=as_yaml(replaced(POLICY, ("rules", 2, "final_answer"), {"working_days": 10**6})))
@example(text="version: " + "9" * 5000)
@example(text="[" * MEGABYTE)
def test_a_policy_loads_and_computes_every_deadline_or_says_why_not(text: str) -> None:
    started = time.monotonic()
    try:
        policy = load_policy(text)
    except PolicyError as error:
        assert str(error).startswith("политика SLA: ")
    else:
        assert policy.warning_lead >= timedelta(0)
        for municipality in ("a", "b", "unknown"):
            for channel in ("vk", "web", "email", "import"):
                try:
                    deadlines = policy.deadlines(
                        channel=channel, category="roads", municipality=municipality, start=NOW
                    )
                except CalendarYearMissingError as error:  # a year of hours runs past the data
                    assert error.year > last_year()
                    continue
                # a year of hours, one working hour a day: the furthest a deadline can be
                assert NOW <= deadlines.first_response <= NOW + timedelta(days=40 * 366)
                assert NOW <= deadlines.final_answer <= NOW + timedelta(days=40 * 366)
    assert time.monotonic() - started < LOAD_SECONDS


PLANS: dict[Any, Any] = {
    "years": {
        2026: {"default": {"a2": 1.0, "share_processed": 80, "share_negative": 20,
                           "n_positive_neutral": 1200},
               "municipalities": {"a": {"a2": 1.1}}},
    }
}  # fmt: skip
PLAN_PLACES = [
    ("years",),
    ("years", 2026),
    ("years", 2026, "default"),
    ("years", 2026, "default", "a2"),
    ("years", 2026, "default", "n_positive_neutral"),
    ("years", 2026, "municipalities"),
    ("years", 2026, "municipalities", "a"),
    ("years", 2026, "municipalities", "a", "share_negative"),
]


def plans_yaml(document: Any) -> str:
    text = as_yaml(document)
    return text.replace('"2026"', "2026")  # JSON keys are strings; a year is a number in YAML


@settings(max_examples=120, deadline=None)
@given(
    text=st.builds(replaced, st.just(PLANS), st.sampled_from(PLAN_PLACES), policy_values).map(
        plans_yaml
    )
    | YAML_TEXTS
    | nasty_text
    | huge_integers.map(lambda year: f"years:\n  {year}: {{}}\n")
)
@example(text="years: {}\n" + alias_bomb(7))  # its error named every one of 9**7 values
def test_a_plans_file_loads_or_says_why_not(text: str) -> None:
    started = time.monotonic()
    try:
        plans = load_plans(text, ["a", "b"])
    except PlansError as error:
        assert str(error).startswith("файл планов")
        assert len(str(error)) < 100_000
    else:
        for year in (2025, 2026):
            plans.for_year(year, "a")
    assert time.monotonic() - started < LOAD_SECONDS


SOURCE = {"id": "vk:-1", "name": "Город", "kind": "vk_group", "group_id": 1, "managed": True,
          "municipality": "m", "callback": {"secret": "s", "confirmation": "c"}}  # fmt: skip
SOURCE_KEYS = ["id", "name", "kind", "group_id", "managed", "callback", "channel", "polling"]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.builds(
        lambda key, value: as_yaml({"sources": [replaced(SOURCE, (key,), value)]}).encode(
            "utf-8", "surrogatepass"
        ),
        st.sampled_from(SOURCE_KEYS),
        policy_values,
    )
    | YAML_TEXTS.map(lambda text: text.encode("utf-8", "surrogatepass"))
    | garbage_bytes
)
@example(content=b"sources:\n  - id: \xff\xfe")
@example(content=b"sources:\n  - {id: '', name: x, kind: appeal, municipality: m}")
def test_a_sources_file_loads_or_says_why_not(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(content)
    started = time.monotonic()
    try:
        catalog = load_sources(path)
    except SourcesFileError as error:
        assert str(path) in str(error)
    else:
        assert all(source.id for source in catalog.sources)
    assert time.monotonic() - started < LOAD_SECONDS


# --- the history file of ``otklik replay`` --------------------------------------------------------

STORABLE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30
)


@st.composite
def history_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["message", "assigned", "claimed", "answered", "rejected",
                                 "reassigned", "closed", "reopened"]))  # fmt: skip
    event: dict[str, Any] = {"at": "2026-09-01T10:00:00+03:00", "event": kind,
                             "message_id": draw(STORABLE)}  # fmt: skip
    needs = {"message": ("municipality", "text"), "answered": ("text",), "rejected": ("reason",),
             "reassigned": ("municipality", "reason"), "reopened": ("reason",)}  # fmt: skip
    for name in needs.get(kind, ()):
        event[name] = draw(STORABLE.filter(str.strip))
    return event


# Each way a line goes bad: a field replaced (or added, where it is not a field) by the value.
POISON = [
    ("text", "нет\x00воды"),
    ("text", "a\ud800b"),
    ("reason", "\udfff"),
    ("message_id", ""),
    ("message_id", "x" * 301),
    ("at", "2026-09-01T10:00:00"),
    ("at", 10**30),
    ("event", "exploded"),
    ("final", "maybe"),
    ("surprise", 1),
    ("text", "я" * 100_001),
]


@st.composite
def history_lines(draw: st.DrawFn) -> tuple[bool | None, bytes]:
    """(valid, line); None where a random value may happen to be valid."""
    shape = draw(st.sampled_from(["valid", "poisoned", "hostile", "garbage"]))
    event = draw(history_events())
    if shape == "valid":
        return True, json.dumps(event, ensure_ascii=draw(st.booleans())).encode()
    if shape == "poisoned":
        field, value = draw(st.sampled_from(POISON))
        return False, json.dumps({**event, field: value}).encode()
    if shape == "hostile":
        field = draw(st.sampled_from(["at", "event", "message_id", "text", "channel", "final"]))
        return None, as_yaml({**event, field: draw(hostile_values)}).encode()
    return False, draw(garbage_bytes)


@settings(max_examples=60, deadline=None)
@given(tagged=st.lists(history_lines(), max_size=6))
@example(tagged=[(False, deep_json(DEEP)), (True, b'{"at": "2026-09-01T10:00:00+03:00", '
                 b'"event": "closed", "message_id": "m1"}')])  # fmt: skip
@example(tagged=[(False, b'{"at": "2026-09-01T10:00:00+03:00", "event": "closed", '
                 b'"message_id": "m\\u0000"}')])  # fmt: skip
def test_a_history_file_names_every_bad_line_and_no_good_one(
    tagged: list[tuple[bool | None, bytes]],
) -> None:
    numbered = [(number, valid, line) for number, (valid, line) in enumerate(tagged, 1)]
    bad = {number for number, valid, line in numbered if valid is False and line.strip()}
    good = {number for number, valid, _ in numbered if valid}
    try:
        events = parse_history(line for _, line in tagged)
    except HistoryError as error:
        named = {int(number) for number in re.findall(r"^строка (\d+): ", str(error), re.M)}
        assert bad <= named
        assert not named & good
    else:
        assert not bad
        assert good <= {number for number, _ in events}
