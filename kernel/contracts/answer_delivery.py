"""otklik.answers.deliveries.v1: what became of an answer the ingest stage posted to VK, keyed
by incident id. The SLA tracker records each as an incident event (``answer_posted`` or
``answer_failed``), so the moderator sees it on the incident page."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AnswerDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    incident_id: str
    answer_event_id: str = Field(description="The `answered` event whose text was posted")
    attempt_id: str = Field(
        description="The event that asked for this attempt: the answer's own, or a retry's; "
        "its id is the attempt's idempotency key at VK"
    )
    posted: bool
    url: str | None = Field(default=None, description="The reply in VK, when posted")
    reason: str | None = Field(default=None, description="Why not, in Russian, when not posted")
    retryable: bool = Field(
        default=False,
        description="Not posted because VK refused the call: nothing was created there, so "
        "another attempt cannot make a second reply",
    )
    at: AwareDatetime
