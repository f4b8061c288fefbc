"""``otklik classifier retrain``: the moderators' labels are read from PostgreSQL here and handed
to ``classifier.retrain``, which knows nothing of the database."""

import asyncio

from sqlalchemy import select

from classifier.bootstrap import ensure_promoted_model
from classifier.corpus import Example
from classifier.retrain import RetrainReport, label_example, retrain
from kernel.db.engine import Database, open_database
from kernel.db.migrate import upgrade
from kernel.db.schema import moderator_labels
from kernel.settings import Settings


async def load_label_examples(db: Database) -> list[Example]:
    """Every stored label as a training example, oldest decision first (retrain lets the latest
    label of a repeated text win)."""
    query = select(
        moderator_labels.c.text, moderator_labels.c.is_incident, moderator_labels.c.category
    ).order_by(moderator_labels.c.decided_at, moderator_labels.c.message_id)
    async with db.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [label_example(row.text, row.is_incident, row.category) for row in rows]


async def read_labels(settings: Settings) -> list[Example]:
    db = open_database(settings, pool_size=1)
    try:
        await asyncio.to_thread(upgrade, db.url)
        return await load_label_examples(db)
    finally:
        await db.close()


def retrain_from_labels(settings: Settings, *, dry_run: bool) -> RetrainReport:
    """Read the labels, make sure a champion exists (a fresh installation trains the default
    model first), then retrain and compare."""
    labels = asyncio.run(read_labels(settings))
    registry = ensure_promoted_model(settings.models_path)
    return retrain(registry, labels, dry_run=dry_run)
