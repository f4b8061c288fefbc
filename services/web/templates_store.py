"""Canned reply templates: kept in PostgreSQL (table reply_templates) and managed on the admin
page, each for every municipality and department or only for one of them. The first time the web
app reads them it fills the table from the templates file (OTKLIK_REPLY_TEMPLATES_FILE, else the
bundled reply_templates.yaml) — once: the seeding is recorded in the audit log, so a template an
admin deleted does not come back on the next start. A template may use only the placeholders of
sla/domain/reply_placeholders.py: a misspelt one would reach a resident."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.engine import Database
from kernel.db.schema import audit_log, reply_templates
from kernel.yaml_files import load
from kernel.yaml_text import ConfigFileError
from sla.domain.reply_placeholders import PLACEHOLDERS, unknown_in

BUNDLED = Path(__file__).with_name("reply_templates.yaml")
SEEDED = "reply-templates-seeded"  # the audit log's record that the file was loaded
SYSTEM = "system"


class TemplateBody(BaseModel):
    """What an admin writes: the template but its id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)
    final: bool = True
    municipality: str | None = Field(default=None, min_length=1, max_length=200)
    department: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("text")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        unknown = unknown_in(text)
        if unknown:
            names = ", ".join(f"{{{name}}}" for name in unknown)
            known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
            raise ValueError(f"неизвестные поля шаблона {names}; известные: {known}")
        return text


class ReplyTemplate(TemplateBody):
    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")

    def offered_for(self, municipality: str, department: str | None) -> bool:
        """Whether the incident page of an incident there offers it."""
        return self.municipality in (None, municipality) and self.department in (None, department)


class TemplateExistsError(ValueError):
    pass


class TemplateNotFoundError(LookupError):
    pass


class _File(BaseModel):
    templates: list[ReplyTemplate]


def load_reply_templates(path: Path | None) -> list[ReplyTemplate]:
    source = path or BUNDLED
    try:
        return _File.model_validate(load(source, "файл шаблонов ответов")).templates
    except ValidationError as error:
        raise ConfigFileError(f"файл шаблонов ответов {source}: {error}") from error


@dataclass
class Seeding:
    """Whether this process has seen the file's templates put in: asked of PostgreSQL until it
    has, then never again (the audit log has no index for the question)."""

    done: bool = False


async def stored_templates(
    db: Database, defaults: list[ReplyTemplate], now: datetime, seeding: Seeding
) -> list[ReplyTemplate]:
    """Every template, by title; the file's ones put in first if that was never done."""
    async with db.engine.connect() as connection:
        if seeding.done or await _seeded(connection):
            seeding.done = True
            return await _all(connection)
    async with db.transaction() as connection:
        # Two web processes starting together: one seeds, the other waits and finds it done.
        await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('reply_templates'))"))
        if not await _seeded(connection):
            await _seed(connection, defaults, now)
        templates = await _all(connection)
    seeding.done = True
    return templates


async def _seeded(connection: AsyncConnection) -> bool:
    found = await connection.scalar(
        select(func.count()).select_from(audit_log).where(audit_log.c.action == SEEDED)
    )
    return bool(found)


async def _seed(connection: AsyncConnection, defaults: list[ReplyTemplate], now: datetime) -> None:
    if defaults:
        rows = [{**t.model_dump(), "updated_at": now, "updated_by": SYSTEM} for t in defaults]
        await connection.execute(pg_insert(reply_templates).values(rows).on_conflict_do_nothing())
    await connection.execute(
        insert(audit_log).values(
            at=now, actor=SYSTEM, action=SEEDED, target="reply_templates",
            details={"count": len(defaults)},
        )
    )  # fmt: skip


async def _all(connection: AsyncConnection) -> list[ReplyTemplate]:
    rows = await connection.execute(
        select(reply_templates).order_by(reply_templates.c.title, reply_templates.c.id)
    )
    fields = ReplyTemplate.model_fields
    return [ReplyTemplate.model_validate({k: v for k, v in r._mapping.items() if k in fields})
            for r in rows]  # fmt: skip


async def add_template(
    connection: AsyncConnection, template: ReplyTemplate, actor: str, now: datetime
) -> None:
    inserted = await connection.scalar(
        pg_insert(reply_templates)
        .values(**template.model_dump(), updated_at=now, updated_by=actor)
        .on_conflict_do_nothing()
        .returning(reply_templates.c.id)
    )
    if inserted is None:
        raise TemplateExistsError(f"Шаблон «{template.id}» уже есть: выберите другой код")
    await _audit(connection, "reply-template-add", template.id, actor, now, template.model_dump())


async def change_template(
    connection: AsyncConnection, template_id: str, body: TemplateBody, actor: str, now: datetime
) -> None:
    changed = await connection.execute(
        update(reply_templates)
        .where(reply_templates.c.id == template_id)
        .values(**body.model_dump(), updated_at=now, updated_by=actor)
    )
    if changed.rowcount != 1:
        raise TemplateNotFoundError(f"Шаблона «{template_id}» нет")
    await _audit(connection, "reply-template-change", template_id, actor, now, body.model_dump())


async def delete_template(
    connection: AsyncConnection, template_id: str, actor: str, now: datetime
) -> None:
    deleted = await connection.execute(
        delete(reply_templates).where(reply_templates.c.id == template_id)
    )
    if deleted.rowcount != 1:
        raise TemplateNotFoundError(f"Шаблона «{template_id}» нет")
    await _audit(connection, "reply-template-delete", template_id, actor, now, {})


async def _audit(
    connection: AsyncConnection,
    action: str,
    target: str,
    actor: str,
    now: datetime,
    details: dict[str, object],
) -> None:
    await connection.execute(
        insert(audit_log).values(at=now, actor=actor, action=action, target=target, details=details)
    )
