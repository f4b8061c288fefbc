"""otklik.incidents.events.v1: every lifecycle transition of an incident, keyed by incident id."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class IncidentEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="'<incident_id>:<seq>', unique and stable")
    incident_id: str
    message_id: str | None = Field(
        default=None, description="The resident's message the incident was opened for"
    )
    seq: int = Field(ge=1)
    type: str
    status: str = Field(description="Status after the transition")
    actor: str
    at: AwareDatetime
    reason: str | None = None
    municipality: str
    department: str | None = None
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
