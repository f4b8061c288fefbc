"""Dead letters kept in PostgreSQL as well as on their topic, so operators can list them."""

from sqlalchemy.dialects.postgresql import insert

from kernel.contracts.deadletters import DeadLetter
from kernel.db.engine import Database
from kernel.db.schema import dead_letters


async def store_dead_letter(db: Database, letter: DeadLetter) -> None:
    async with db.transaction() as connection:
        await connection.execute(
            insert(dead_letters)
            .values(
                dead_letter_id=letter.dead_letter_id,
                stage=letter.stage,
                source_topic=letter.source_topic,
                reason=letter.reason,
                payload=letter.payload.replace("\x00", "\\u0000"),
                failed_at=letter.failed_at,
            )
            .on_conflict_do_nothing()
        )
