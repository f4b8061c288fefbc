"""Typed placeholders of canned replies: what counts as one, what the incident fills, and the
refusal that names what is left."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kernel.yaml_text import ConfigFileError
from services.web.templates_store import load_reply_templates
from sla.domain.reply_placeholders import PLACEHOLDERS, fill, incident_values, unfilled_refusal

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


def test_the_incident_fills_its_values_in_the_municipality_s_zone() -> None:
    values = incident_values(
        department="ЖКХ", final_answer_due=datetime(2026, 9, 11, 15, 30, tzinfo=UTC),
        municipality_name="Северогорск", number="СЕВ-2026-000123", zone=VLADIVOSTOK,
    )  # fmt: skip
    # 15:30 UTC on the 11th is already the 12th in Vladivostok (UTC+10).
    text = fill("{number}: {department}, {municipality}, до {deadline}; по {address}", values)
    assert text == "СЕВ-2026-000123: ЖКХ, Северогорск, до 12.09.2026; по {address}"


def test_an_incident_without_a_department_or_deadline_leaves_them_to_fill() -> None:
    values = incident_values(
        department=None, final_answer_due=None, municipality_name="Северогорск",
        number="СЕВ-2026-000001", zone=VLADIVOSTOK,
    )  # fmt: skip
    assert fill("{department} до {deadline}", values) == "{department} до {deadline}"


def test_a_refusal_names_every_placeholder_left_known_or_not() -> None:
    refusal = unfilled_refusal("Передано в {department}, срок — до {date}, {date}; {адрес}")
    assert refusal is not None
    assert "{department} (отдел), {date} (дата), {адрес}." in refusal


@pytest.mark.parametrize(
    "text", ["Смайлик :-{ и скобка {", "{ date }", "{1}", "{}", "Формула {2x}", "Готово."]
)
def test_a_moderator_s_own_braces_are_text(text: str) -> None:
    assert unfilled_refusal(text) is None


def test_every_bundled_template_uses_known_placeholders_only(tmp_path: Path) -> None:
    bundled = load_reply_templates(None)
    used = {name for t in bundled for name in PLACEHOLDERS if f"{{{name}}}" in t.text}
    assert used >= {"department", "deadline", "address", "date", "number"}
    misspelt = tmp_path / "templates.yaml"
    misspelt.write_text("templates:\n  - {id: x, title: X, text: 'до {dat}'}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"неизвестные поля шаблона \{dat\}"):
        load_reply_templates(misspelt)
