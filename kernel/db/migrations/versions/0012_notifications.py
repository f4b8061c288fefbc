"""Notifications for people (issue 22, point 2): each user's preferences (e-mail address,
Telegram chat, which kinds, immediate or a daily digest) and the outbox of notifications, one row
per user, incident, kind and channel (unique: nobody is notified twice of the same thing).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column(
            "login", sa.Text, sa.ForeignKey("users.login", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("email", sa.Text),
        sa.Column("telegram_chat", sa.Text),
        sa.Column("kinds", JSONB, nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("digest_hour", sa.Integer, nullable=False, server_default=sa.text("9")),
        sa.Column("timezone", sa.Text),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "login", sa.Text, sa.ForeignKey("users.login", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("incident_id", sa.Text, sa.ForeignKey("incidents.incident_id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("sent_at", TZ),
    )
    op.create_index(
        "ux_notifications_once",
        "notifications",
        ["login", "incident_id", "kind", "channel"],
        unique=True,
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status <> 'sent'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_index("ux_notifications_once", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("notification_preferences")
