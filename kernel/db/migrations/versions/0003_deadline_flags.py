"""Deadline watcher flags: each warning and overdue mark is emitted exactly once.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FLAGS = (
    "warned_first_response",
    "warned_final_answer",
    "overdue_first_response",
    "overdue_final_answer",
)


def upgrade() -> None:
    for flag in FLAGS:
        op.add_column(
            "incidents",
            sa.Column(flag, sa.Boolean, nullable=False, server_default=sa.text("false")),
        )


def downgrade() -> None:
    for flag in FLAGS:
        op.drop_column("incidents", flag)
