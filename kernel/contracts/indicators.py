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
    first_response_median_hours: float | None = Field(
        default=None, description="Median hours from the resident's message to the first reply"
    )
    first_response_p90_hours: float | None = None
    final_answer_median_hours: float | None = Field(
        default=None, description="Median hours from the resident's message to the final answer"
    )
    final_answer_p90_hours: float | None = None
    closed: bool = Field(
        default=False,
        description="Computed after the month closed (OTKLIK_INDICATORS_CLOSE_DAY/_TIME): the "
        "reported value; before that the revision is preliminary",
    )


class RankEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    place: int | None = Field(description="Equal A_2 share a place; None for 'no data' (last)")
    municipality: str
    a2: float | None
    revision: int


class RegionRollup(BaseModel):
    """One month across every municipality: totals, and the ranking by A_2."""

    model_config = ConfigDict(frozen=True)

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    region: str | None = Field(description="Region of the policy file; None: every municipality")
    threshold_t: int
    municipalities: int
    n_assigned: int
    n_handled_on_time: int
    ratio: float | None
    k_ob: float | None
    a2: float | None = Field(description="A_2 of the region's totals (same k_об rule)")
    mean_a2: float | None = Field(
        description="Mean of the municipalities' A_2 ('no data' left out)"
    )
    share_processed: float | None
    share_negative: float | None
    n_messages: int
    n_negative: int
    n_positive_neutral: int
    ranking: list[RankEntry]
