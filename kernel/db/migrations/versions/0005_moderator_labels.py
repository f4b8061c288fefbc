"""Moderator labels: the latest decision of a moderator per message, for retraining.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "moderator_labels",
        sa.Column("message_id", sa.Text, sa.ForeignKey("messages.message_id"), primary_key=True),
        sa.Column("incident_id", sa.Text, sa.ForeignKey("incidents.incident_id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("is_incident", sa.Boolean, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("decided_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("moderator_labels")
