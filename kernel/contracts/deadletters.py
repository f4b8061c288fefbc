"""otklik.deadletters.v1: input a stage could not accept, kept with the reason."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    dead_letter_id: str = Field(description="sha256 of stage + payload: redelivery stores it once")
    stage: str
    source_topic: str | None = None
    reason: str
    payload: str = Field(
        description="The input as received (decoded with replacement if needed; cut after "
        "100,000 characters, so that the letter fits one Kafka record)"
    )
    failed_at: AwareDatetime
