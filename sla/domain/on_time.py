"""The "on time" judgement of a finally answered incident (pure).

Kept apart from the state machine in ``sla/domain.py``, which calls it when it folds in a final
answer; the incident type is imported for annotations only, so there is no import cycle.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sla.domain.lifecycle import Incident


def judge_on_time(incident: "Incident") -> tuple[bool, str]:
    """Both clocks must be met: first response by its deadline, final answer by its deadline."""
    deadlines = incident.deadlines
    if deadlines is None or incident.first_response_at is None or incident.final_answer_at is None:
        return False, "нет сроков или ответа"
    late: list[str] = []
    if incident.first_response_at > deadlines.first_response:
        late.append(f"первый ответ позже срока {deadlines.first_response.isoformat()}")
    if incident.final_answer_at > deadlines.final_answer:
        late.append(f"окончательный ответ позже срока {deadlines.final_answer.isoformat()}")
    if late:
        return False, "; ".join(late) + f" (политика {deadlines.policy_version}, {deadlines.rule})"
    return True, (
        f"в срок: первый ответ до {deadlines.first_response.isoformat()}, окончательный до "
        f"{deadlines.final_answer.isoformat()} "
        f"(политика {deadlines.policy_version}, {deadlines.rule})"
    )
