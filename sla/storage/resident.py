"""The resident behind an incident's message: their name and contact as stored, and their other
messages the reader may see, newest first (each with its incident, if it has one)."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import incidents, message_authors, messages
from sla.domain.residents import is_redacted, mail_link, vk_profile
from sla.storage.queue import Reach

OTHERS = 10


@dataclass(frozen=True)
class Resident:
    ref: str
    name: str | None
    contact: str | None
    others: list[dict[str, Any]] = field(default_factory=list)
    limit: int = OTHERS  # the list stops there: «последние 10» says so

    @property
    def redacted(self) -> bool:
        return is_redacted(self.ref)

    @property
    def shown_name(self) -> str:
        """VK sends no names with comments: the id is what there is then («id123»)."""
        return self.name or self.ref.removeprefix("vk:")

    @property
    def profile(self) -> str | None:
        return None if self.redacted else vk_profile(self.ref)

    @property
    def mail(self) -> str | None:
        return mail_link(self.contact)


async def resident_of(
    connection: AsyncConnection, *, message_id: str, reach: Reach, limit: int = OTHERS
) -> Resident | None:
    """None when the message has no stored author. A redacted author's other messages are not
    listed: the pseudonym keeps them together for the counts, not for people to read."""
    row = (
        await connection.execute(
            select(message_authors.c.ref, message_authors.c.name, message_authors.c.contact)
            .where(message_authors.c.message_id == message_id)
        )
    ).first()  # fmt: skip
    if row is None or row.ref is None:
        return None
    if is_redacted(row.ref):
        return Resident(row.ref, None, None)
    others = await connection.execute(
        select(
            messages.c.message_id, messages.c.text, messages.c.url, messages.c.created_at,
            messages.c.deleted_at, incidents.c.incident_id,
        )
        .select_from(
            message_authors.join(messages, messages.c.message_id == message_authors.c.message_id)
            .outerjoin(incidents, incidents.c.message_id == messages.c.message_id)
        )
        .where(
            message_authors.c.ref == row.ref, message_authors.c.message_id != message_id,
            _within(reach),
        )
        .order_by(messages.c.created_at.desc(), messages.c.message_id.desc())
        .limit(limit)
    )  # fmt: skip
    return Resident(
        row.ref, row.name, row.contact, [dict(other._mapping) for other in others], limit
    )


def _within(reach: Reach) -> ColumnElement[bool]:
    """An incident's message is within reach as the queue decides (Reach.conditions); a message
    that is no incident, by the municipality and department it came with."""
    own: list[ColumnElement[bool]] = []
    if reach.municipalities is not None:
        own.append(messages.c.municipality.in_(sorted(reach.municipalities)))
    if reach.departments is not None:  # IN leaves out NULL, as Reach.covers does
        own.append(messages.c.department.in_(sorted(reach.departments)))
    return or_(
        and_(incidents.c.incident_id.is_not(None), *reach.conditions()),
        and_(incidents.c.incident_id.is_(None), *own),
    )
