"""The SLA rule an incident's deadlines came from, in words («ВКонтакте, все категории: первый
ответ — 8 раб. ч, ответ по существу — 7 раб. дн.») instead of its place in the file."""

import re
from collections.abc import Mapping

from services.web.ui.formatting import number
from services.web.ui.labels import CATEGORIES, CHANNELS
from sla.domain.policy import Duration, Match, SlaPolicy

_REF = re.compile(r"^rules\[(\d+)\]$")


def duration_text(duration: Duration) -> str:
    if duration.working_hours is not None:
        return f"{number(duration.working_hours, 1)} раб. ч"
    if duration.working_days is not None:
        return f"{duration.working_days} раб. дн."
    return f"{duration.calendar_days} кал. дн."


def _names(wanted: str | list[str] | None, table: Mapping[str, str], every: str) -> str:
    if wanted is None:
        return every
    return ", ".join(
        table.get(code, code) for code in ([wanted] if isinstance(wanted, str) else wanted)
    )


def match_text(match: Match, municipalities: Mapping[str, str]) -> str:
    parts = [
        _names(match.channel, CHANNELS, "все каналы"),
        _names(match.category, CATEGORIES, "все категории"),
    ]
    if match.municipality is not None:
        parts.append(_names(match.municipality, municipalities, ""))
    return ", ".join(parts)


def basis(policy: SlaPolicy, version: str | None, rule: str | None) -> str | None:
    """The rule in words if the incident's deadlines came from the policy now loaded; None
    otherwise (an older version: its rules may have been other ones)."""
    found = _REF.match(rule or "")
    if version != policy.version or found is None or int(found.group(1)) >= len(policy.spec.rules):
        return None
    chosen = policy.spec.rules[int(found.group(1))]
    names = {key: spec.name for key, spec in policy.spec.municipalities.items()}
    return (
        f"{match_text(chosen.match, names)}: первый ответ — {duration_text(chosen.first_response)}"
        f", ответ по существу — {duration_text(chosen.final_answer)}"
    )
