"""The events an incident's answer deliveries are read from (sla/domain/answer_delivery.py)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.contracts.incidents import EventType
from kernel.db.schema import incident_events
from sla.domain.answer_delivery import Delivery, deliveries

_TYPES = [
    EventType.ANSWERED.value,
    EventType.ANSWER_POSTED.value,
    EventType.ANSWER_FAILED.value,
    EventType.ANSWER_RETRIED.value,
]


async def answer_deliveries(connection: AsyncConnection, incident_id: str) -> dict[str, Delivery]:
    rows = await connection.execute(
        select(incident_events.c.seq, incident_events.c.type, incident_events.c.data)
        .where(incident_events.c.incident_id == incident_id, incident_events.c.type.in_(_TYPES))
        .order_by(incident_events.c.seq)
    )
    return deliveries((f"{incident_id}:{row.seq}", row.type, row.data or {}) for row in rows)
