"""An incident's deadlines and the "on time" judgement of its final answer (pure); the state
machine (``lifecycle.py``) calls it when it folds in a final answer."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Deadlines:
    first_response: datetime
    final_answer: datetime
    policy_version: str
    rule: str


def judge_on_time(
    deadlines: Deadlines | None,
    first_response_at: datetime | None,
    final_answer_at: datetime | None,
) -> tuple[bool, str]:
    """Both clocks must be met: first response by its deadline, final answer by its deadline."""
    if deadlines is None or first_response_at is None or final_answer_at is None:
        return False, "нет сроков или ответа"
    late: list[str] = []
    if first_response_at > deadlines.first_response:
        late.append(f"первый ответ позже срока {deadlines.first_response.isoformat()}")
    if final_answer_at > deadlines.final_answer:
        late.append(f"окончательный ответ позже срока {deadlines.final_answer.isoformat()}")
    if late:
        return False, "; ".join(late) + f" (политика {deadlines.policy_version}, {deadlines.rule})"
    return True, (
        f"в срок: первый ответ до {deadlines.first_response.isoformat()}, окончательный до "
        f"{deadlines.final_answer.isoformat()} "
        f"(политика {deadlines.policy_version}, {deadlines.rule})"
    )
