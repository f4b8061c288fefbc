"""otklik.indicators.monthly.v1: one municipality's monthly indicators, one revision."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class IndicatorRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    municipality: str
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    revision: int = Field(ge=1)
    computed_at: AwareDatetime
    n_assigned: int = Field(ge=0)
    n_handled_on_time: int = Field(ge=0)
    ratio: float | None = Field(description="None when n_assigned = 0 ('no data')")
    k_ob: float | None
    a2: float | None
    threshold_t: int
    share_processed: float | None = Field(description="Percent; None when nothing was received")
    share_negative: float | None = Field(description="Percent of all collected messages")
    n_messages: int = Field(ge=0)
    n_negative: int = Field(ge=0)
    n_positive_neutral: int = Field(ge=0)
