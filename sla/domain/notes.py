"""Internal notes on an incident: for the administration only, never published to the resident.

A note is an event of the incident (``NOTED``), recorded like every action so it is in the
history and the live feed; it moves neither the status, nor the claim, nor the deadlines, and it
is not an answer (ingest/vk/answers.py posts only ``ANSWERED``). ``@login`` in its text mentions a
colleague; the web checks that each one exists and may read the incident."""

import re
from dataclasses import dataclass
from datetime import datetime

from kernel.contracts.incidents import EventType
from sla.domain.lifecycle import IllegalTransitionError, Incident, Transition

# A login of letters (Latin or Cyrillic), digits, «.», «-», «_», not ending in a dot (the end of
# a sentence); an e-mail address («a@b.ru») is not a mention.
_MENTION = re.compile(r"(?<![\w.@])@([\w.-]*[\w-])")
MAX_NOTE = 4000


@dataclass(frozen=True)
class Note:
    actor: str
    text: str


def mentioned(text: str) -> tuple[str, ...]:
    """The logins ``@mentioned`` in ``text``, each once, in order of first mention."""
    return tuple(dict.fromkeys(match.group(1) for match in _MENTION.finditer(text)))


def mentions_of(data: dict[str, str | int | float | bool | None]) -> tuple[str, ...]:
    """The mentions a ``NOTED`` event recorded (a space-separated list: event data are flat)."""
    return tuple(str(data.get("mentions") or "").split())


def noted(incident: Incident, note: Note, now: datetime) -> Transition:
    """The note as an event that leaves the incident where it is."""
    text = note.text.strip()
    if not text:
        raise IllegalTransitionError("Текст заметки не может быть пустым")
    if len(text) > MAX_NOTE:
        raise IllegalTransitionError(f"Заметка длиннее {MAX_NOTE} символов")
    data: dict[str, str | int | float | bool | None] = {
        "text": text, "mentions": " ".join(mentioned(text)),
    }  # fmt: skip
    return Transition(EventType.NOTED, incident.status, note.actor, now, data=data)
