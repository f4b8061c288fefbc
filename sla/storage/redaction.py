"""Redaction of personal data on a resident's request (152-FZ): the author's name, contact and
source id are removed, and — if asked — the texts they wrote. Counts, sentiment, incidents,
deadlines and on-time decisions stay, so every monthly indicator is unchanged (its inputs are
the same: no new revision is produced).

The author's source id is replaced by a random pseudonym, one per request, rather than erased:
the redacted rows of one author still group together, and nothing derived from the id is kept
(a hash of a VK id could be reversed by trying every id).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db.schema import message_authors, message_revisions, messages, moderator_labels

REDACTED_TEXT = "[удалено по запросу]"


@dataclass(frozen=True)
class RedactionReport:
    messages: int
    texts: int


async def redact(
    connection: AsyncConnection,
    *,
    now: datetime,
    author_ref: str | None = None,
    message_id: str | None = None,
    texts: bool = False,
) -> RedactionReport:
    """Redact every message of ``author_ref`` (e.g. ``vk:id123`` or an e-mail address) or the
    one message ``message_id``; with ``texts`` their texts too, everywhere they are kept."""
    if (author_ref is None) == (message_id is None):
        raise ValueError("укажите либо автора, либо сообщение")
    which: ColumnElement[bool] = (
        message_authors.c.ref == author_ref
        if author_ref is not None
        else message_authors.c.message_id == message_id
    )
    ids = list(
        (await connection.execute(select(message_authors.c.message_id).where(which))).scalars()
    )
    already = message_authors.c.ref.startswith("redacted:")
    await connection.execute(
        update(message_authors)
        .where(which, ~already)
        .values(ref=f"redacted:{secrets.token_hex(8)}")
    )
    await connection.execute(
        update(message_authors)
        .where(message_authors.c.message_id.in_(ids))
        .values(name=None, contact=None, redacted_at=now)
    )
    if texts and ids:
        for table in (messages, message_revisions, moderator_labels):
            await connection.execute(
                update(table).where(table.c.message_id.in_(ids)).values(text=REDACTED_TEXT)
            )
    return RedactionReport(messages=len(ids), texts=len(ids) if texts else 0)
