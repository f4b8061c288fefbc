"""A stored message's attachments as the contract's Attachment (rows written before URLs were
kept hold only the kind, and read as such)."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.messages import Attachment
from kernel.db.schema import messages


async def attachments_of(connection: AsyncConnection, message_id: str) -> list[Attachment]:
    stored = await connection.scalar(
        select(messages.c.attachments).where(messages.c.message_id == message_id)
    )
    return as_attachments(stored)


def as_attachments(stored: Any) -> list[Attachment]:
    return [Attachment.model_validate(item) for item in stored or [] if isinstance(item, dict)]
