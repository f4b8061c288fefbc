"""The thread a message was written in (the other messages of its ``thread_key``: the post and
its comments, an e-mail conversation), for the moderator who answers it. Bounded around the
message, because a popular VK post can have thousands of comments."""

from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.messages import vk_thread_root_id
from kernel.db.schema import incidents, messages

AROUND = 20

_COLUMNS = (
    messages.c.message_id,
    messages.c.text,
    messages.c.url,
    messages.c.is_official,
    messages.c.created_at,
    messages.c.deleted_at,
    messages.c.reply_to,
    incidents.c.incident_id,
)


async def thread_of(
    connection: AsyncConnection, *, message_id: str, around: int = AROUND
) -> tuple[int, list[dict[str, Any]]]:
    """(messages in the thread, up to ``around`` before and after the message, the message
    itself included), oldest first; each row names its incident, if it has one."""
    anchor = (
        await connection.execute(
            select(messages.c.thread_key, messages.c.created_at).where(
                messages.c.message_id == message_id
            )
        )
    ).first()
    if anchor is None:
        return 0, []
    joined = messages.outerjoin(incidents, incidents.c.message_id == messages.c.message_id)
    same = messages.c.thread_key == anchor.thread_key
    order = (messages.c.created_at, messages.c.message_id)
    key = (anchor.created_at, message_id)
    before = await connection.execute(
        select(*_COLUMNS).select_from(joined).where(same, _before(key))
        .order_by(*(column.desc() for column in order)).limit(around)
    )  # fmt: skip
    after = await connection.execute(
        select(*_COLUMNS).select_from(joined).where(same, ~_before(key))
        .order_by(*order).limit(around + 1)
    )  # fmt: skip
    total = await connection.scalar(select(func.count()).select_from(messages).where(same))
    rows = [dict(row._mapping) for row in reversed(list(before))]
    rows += [dict(row._mapping) for row in after]
    return int(total or 0), rows


async def root_of(connection: AsyncConnection, *, message_id: str) -> dict[str, Any] | None:
    """The post a comment was written under, when otklik stored it; None for a message that is
    the root itself or whose root is not a message (a photo, a topic, a dialog)."""
    thread_key = await connection.scalar(
        select(messages.c.thread_key).where(messages.c.message_id == message_id)
    )
    root_id = vk_thread_root_id(thread_key) if thread_key is not None else None
    if root_id is None or root_id == message_id:
        return None
    row = (
        await connection.execute(
            select(*_COLUMNS, messages.c.attachments)
            .select_from(messages.outerjoin(incidents, incidents.c.message_id == root_id))
            .where(messages.c.message_id == root_id)
        )
    ).first()
    return None if row is None else dict(row._mapping)


def _before(key: tuple[Any, str]) -> ColumnElement[bool]:
    return tuple_(messages.c.created_at, messages.c.message_id) < tuple_(*key)
