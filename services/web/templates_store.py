"""Canned reply templates from a YAML file the administration edits. A template may use only
the placeholders of sla/domain/reply_placeholders.py: a misspelt one would reach a resident."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from kernel.yaml_files import load
from kernel.yaml_text import ConfigFileError
from sla.domain.reply_placeholders import PLACEHOLDERS, unknown_in

BUNDLED = Path(__file__).with_name("reply_templates.yaml")


class ReplyTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    text: str
    final: bool = True

    @field_validator("text")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        unknown = unknown_in(text)
        if unknown:
            names = ", ".join(f"{{{name}}}" for name in unknown)
            known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
            raise ValueError(f"неизвестные поля шаблона {names}; известные: {known}")
        return text


class _File(BaseModel):
    templates: list[ReplyTemplate]


def load_reply_templates(path: Path | None) -> list[ReplyTemplate]:
    source = path or BUNDLED
    try:
        return _File.model_validate(load(source, "файл шаблонов ответов")).templates
    except ValidationError as error:
        raise ConfigFileError(f"файл шаблонов ответов {source}: {error}") from error
