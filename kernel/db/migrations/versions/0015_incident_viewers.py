"""Who has an incident page open, in PostgreSQL: every web replica reads and writes the same rows,
so «сейчас смотрят» names the colleagues whichever replica serves them (in each process's memory,
two replicas showed half of them). A row lives while its page reports itself.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_viewers",
        sa.Column("incident_id", sa.Text, primary_key=True),
        sa.Column("login", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_viewers")
