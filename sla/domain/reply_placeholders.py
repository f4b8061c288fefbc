"""Typed placeholders of canned replies (pure): which ones exist, how the incident fills some,
and which are still left in a text a moderator sends.

A reply is published in VK as it is, so «…до {date}» must never be recorded as an answer. Only
``{identifier}`` counts as a placeholder (a letter or «_» first, then letters, digits, «_», any
script): a moderator's own brace («{», «{ 1 }», «{1}», «{}») is ordinary text and goes through."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

PATTERN = re.compile(r"\{([^\W\d]\w*)\}")


class Kind(StrEnum):
    INCIDENT = "incident"  # filled from the incident when the page is built
    TEXT = "text"  # typed by the moderator
    DATE = "date"  # picked by the moderator, written «12.09.2026»


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str  # what the form and a refusal call it
    kind: Kind


PLACEHOLDERS = {
    known.name: known
    for known in (
        Placeholder("department", "отдел", Kind.INCIDENT),
        Placeholder("deadline", "срок окончательного ответа", Kind.INCIDENT),
        Placeholder("municipality", "муниципалитет", Kind.INCIDENT),
        Placeholder("number", "номер инцидента", Kind.INCIDENT),
        Placeholder("address", "адрес", Kind.TEXT),
        Placeholder("date", "дата", Kind.DATE),
    )
}


def names_in(text: str) -> list[str]:
    """The placeholders in ``text``, each once, in the order they first appear."""
    return list(dict.fromkeys(PATTERN.findall(text)))


def unknown_in(text: str) -> list[str]:
    return [name for name in names_in(text) if name not in PLACEHOLDERS]


def russian_date(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%d.%m.%Y")


def incident_values(
    *,
    department: str | None,
    final_answer_due: datetime | None,
    municipality_name: str,
    number: str,
    zone: tzinfo,
) -> dict[str, str]:
    """What the incident itself fills; a value it lacks (no department yet) stays for the
    moderator to type."""
    values = {"municipality": municipality_name, "number": number}
    if department:
        values["department"] = department
    if final_answer_due is not None:
        values["deadline"] = russian_date(final_answer_due, zone)
    return values


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder that has a value replaced; the others left as they are."""
    return PATTERN.sub(lambda found: values.get(found.group(1), found.group(0)), text)


def unfilled_refusal(text: str) -> str | None:
    """Why ``text`` may not be sent (in Russian, naming each placeholder left), or None."""
    left = names_in(text)
    if not left:
        return None
    named = ", ".join(
        f"{{{name}}} ({PLACEHOLDERS[name].label})" if name in PLACEHOLDERS else f"{{{name}}}"
        for name in left
    )
    return (
        f"В ответе остались незаполненные поля шаблона: {named}. Заполните их или уберите "
        "из текста: ответ публикуется жителю как есть."
    )
