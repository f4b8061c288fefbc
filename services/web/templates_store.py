"""Canned reply templates from a YAML file the administration edits."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from kernel.yaml_files import load
from kernel.yaml_text import ConfigFileError

BUNDLED = Path(__file__).with_name("reply_templates.yaml")


class ReplyTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    text: str
    final: bool = True


class _File(BaseModel):
    templates: list[ReplyTemplate]


def load_reply_templates(path: Path | None) -> list[ReplyTemplate]:
    source = path or BUNDLED
    try:
        return _File.model_validate(load(source, "файл шаблонов ответов")).templates
    except ValidationError as error:
        raise ConfigFileError(f"файл шаблонов ответов {source}: {error}") from error
