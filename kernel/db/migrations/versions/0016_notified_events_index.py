"""A partial index over the events the notifier reads every round (deadline warnings, overdue
deadlines, refused answers): without it each round read the whole incident history.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_incident_events_notified",
        "incident_events",
        ["at"],
        postgresql_where=sa.text("type IN ('deadline_warning', 'overdue', 'answer_failed')"),
    )


def downgrade() -> None:
    op.drop_index("ix_incident_events_notified", table_name="incident_events")
