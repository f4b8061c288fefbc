"""A user's notification preferences (pure): where to (an e-mail address, a Telegram chat), of
what (which kinds), and how (each at once, or a daily digest at a local hour). The API reads and
writes this model; the page edits the same fields."""

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notifications.texts import KINDS

Kind = Literal["deadline_warning", "overdue", "answer_failed"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")  # an id or @channelusername


def _every_kind() -> list[Kind]:
    return ["deadline_warning", "overdue", "answer_failed"]


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str | None = Field(default=None, max_length=254, description="Адрес для писем")
    telegram_chat: str | None = Field(
        default=None, max_length=40, description="chat_id в Telegram (число или @канал)"
    )
    kinds: list[Kind] = Field(
        default_factory=_every_kind,
        max_length=len(KINDS),
        description="О чём сообщать",
    )
    digest: bool = Field(default=False, description="Раз в день одной сводкой вместо каждого")
    digest_hour: int = Field(default=9, ge=0, le=23, description="Час сводки, местное время")
    timezone: str | None = Field(
        default=None, max_length=64, description="Часовой пояс; пусто — пояс по умолчанию"
    )

    @field_validator("email", "telegram_chat", "timezone", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("адрес e-mail должен быть вида имя@домен")
        return value

    @field_validator("telegram_chat")
    @classmethod
    def _chat(cls, value: str | None) -> str | None:
        if value is not None and not _CHAT.match(value):
            raise ValueError("chat_id в Telegram — число (например 123456789) или @канал")
        return value

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[Kind]) -> list[Kind]:
        return [kind for kind in KINDS if kind in value]  # once each, in a fixed order

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"неизвестный часовой пояс {value!r}") from None
        return value
