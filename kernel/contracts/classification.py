"""otklik.messages.classified.v1: the classifier's decision attached to the raw message."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kernel.contracts.messages import RawMessage


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    is_incident: bool
    score: float = Field(ge=0.0, le=1.0, description="Calibrated probability of an incident")
    threshold: float = Field(ge=0.0, le=1.0)
    category: str | None = None
    department: str | None = None
    sentiment: Sentiment = Sentiment.NEUTRAL
    model_version: str
    explanation: tuple[str, ...] = Field(default=(), description="Terms that pushed the decision")


class ClassifiedMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    message: RawMessage
    decision: Decision | None = Field(
        default=None, description="None for source events that need no decision (deletions)"
    )
