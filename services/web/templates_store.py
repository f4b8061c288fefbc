"""Canned reply templates from a YAML file the administration edits."""

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

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
    return _File.model_validate(yaml.safe_load(source.read_text(encoding="utf-8"))).templates
