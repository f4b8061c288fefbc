"""Configured sources: which VK groups and appeal channels belong to which municipality.

A source names its secrets (tokens, callback secret, API key, mailbox password) by the name they
have in the settings' secrets, never by value, so the sources file can be kept in git.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.contracts.messages import Channel

SecretName = str


class CallbackConfig(BaseModel):
    """VK Callback API of a managed community."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretName = Field(description="Secret name of the community's callback secret key")
    confirmation: str = Field(min_length=1, description="String VK expects on 'confirmation'")


class PollingConfig(BaseModel):
    """Wall polling of a group the city does not run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookback_days: int = Field(
        default=7, ge=0, description="New comments are looked for under posts this recent"
    )
    posts_per_round: int = Field(default=20, ge=1, le=100, description="wall.get count")
    search: tuple[str, ...] = Field(
        default=(), description="newsfeed.search queries for mentions (needs a user token)"
    )


class ImapConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int = 993
    ssl: bool = True
    user: str
    password: SecretName = Field(description="Secret name of the mailbox password")
    mailbox: str = "INBOX"


class ImportColumns(BaseModel):
    """Column headers of a CSV/XLSX list of appeals, mapped to message fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    external_id: str = "id"
    text: str = "text"
    created_at: str = "created_at"
    author: str | None = "author"
    contact: str | None = "contact"
    department: str | None = None


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(
        min_length=1, description="Stable source id, e.g. 'vk:-210000001' or 'appeal:portal'"
    )
    name: str
    kind: Literal["vk_group", "appeal"]
    group_id: int | None = Field(default=None, gt=0, description="VK community id (positive)")
    managed: bool = Field(default=False, description="The city runs it: long poll / callback")
    municipality: str = Field(min_length=1)
    department: str | None = None
    official_ids: tuple[int, ...] = Field(
        default=(), description="VK ids whose messages are the administration's own replies"
    )
    token: SecretName | None = Field(
        default=None,
        description="Secret name of the VK token: community token for a managed group, "
        "user or service token for a polled one",
    )
    callback: CallbackConfig | None = None
    post_replies: bool = Field(
        default=True,
        description="Post moderators' answers to VK through the token (managed communities only)",
    )
    polling: PollingConfig = PollingConfig()
    channel: Channel | None = Field(default=None, description="Appeal channel: web, email, import")
    api_key: SecretName | None = Field(
        default=None, description="Secret name of the HTTP intake API key (channel web)"
    )
    imap: ImapConfig | None = None
    columns: ImportColumns = ImportColumns()

    @model_validator(mode="after")
    def _consistent(self) -> "Source":
        if self.kind == "vk_group" and self.group_id is None:
            raise ValueError(f"{self.id}: a vk_group needs group_id")
        if self.kind == "appeal" and self.channel in {None, Channel.VK}:
            raise ValueError(f"{self.id}: an appeal source needs channel web, email or import")
        if self.callback is not None and not self.managed:
            raise ValueError(f"{self.id}: the Callback API exists only for managed communities")
        if self.channel is Channel.EMAIL and self.imap is None:
            raise ValueError(f"{self.id}: an e-mail channel needs imap settings")
        return self


class SourceCatalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[Source, ...]

    @model_validator(mode="after")
    def _unique(self) -> "SourceCatalog":
        ids = [s.id for s in self.sources]
        if len(ids) != len(set(ids)):
            raise ValueError("source ids must be unique")
        return self

    def by_group(self, group_id: int) -> Source | None:
        return next((s for s in self.sources if s.group_id == abs(group_id)), None)

    def by_id(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    def vk_groups(self, *, managed: bool) -> list[Source]:
        return [s for s in self.sources if s.kind == "vk_group" and s.managed is managed]

    def appeals(self, channel: Channel) -> list[Source]:
        return [s for s in self.sources if s.kind == "appeal" and s.channel is channel]

    def official_ids(self) -> frozenset[int]:
        """Every id that speaks for the administration: its communities and listed accounts."""
        ids = {-s.group_id for s in self.sources if s.managed and s.group_id is not None}
        for source in self.sources:
            ids.update(source.official_ids)
        return frozenset(ids)
