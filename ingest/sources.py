"""Configured sources: which VK groups and appeal channels belong to which municipality."""

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Stable source id, e.g. 'vk:-210000001' or 'appeal:portal'")
    name: str
    kind: str = Field(pattern="^(vk_group|appeal)$")
    group_id: int | None = Field(default=None, gt=0, description="VK community id (positive)")
    managed: bool = Field(default=False, description="The city runs it: long poll / callback")
    municipality: str
    department: str | None = None
    official_ids: tuple[int, ...] = Field(
        default=(), description="VK ids whose messages are the administration's own replies"
    )


class SourceCatalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[Source, ...]

    def by_group(self, group_id: int) -> Source | None:
        return next((s for s in self.sources if s.group_id == abs(group_id)), None)

    def official_ids(self) -> frozenset[int]:
        """Every id that speaks for the administration: its communities and listed accounts."""
        ids = {-s.group_id for s in self.sources if s.managed and s.group_id is not None}
        for source in self.sources:
            ids.update(source.official_ids)
        return frozenset(ids)


def load_sources(path: Path) -> SourceCatalog:
    return SourceCatalog.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
