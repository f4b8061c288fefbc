"""Initial schema: messages, authors, revisions, incidents, events, outbox, dead letters,
indicator values.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("source_kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("thread_key", sa.Text, nullable=False),
        sa.Column("reply_to", sa.Text),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("attachments", JSONB, nullable=False),
        sa.Column("is_official", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("stored_at", TZ, nullable=False, server_default=NOW),
        sa.Column("edited_at", TZ),
        sa.Column("deleted_at", TZ),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("department", sa.Text),
        sa.Column("is_incident", sa.Boolean),
        sa.Column("score", sa.Float),
        sa.Column("category", sa.Text),
        sa.Column("sentiment", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("explanation", JSONB),
    )
    op.create_index("ix_messages_municipality_created", "messages", ["municipality", "created_at"])
    op.create_index("ix_messages_reply_to", "messages", ["reply_to"])
    op.create_table(
        "message_authors",
        sa.Column("message_id", sa.Text, sa.ForeignKey("messages.message_id"), primary_key=True),
        sa.Column("ref", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("contact", sa.Text),
        sa.Column("redacted_at", TZ),
    )
    op.create_table(
        "message_revisions",
        sa.Column("revision_key", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, sa.ForeignKey("messages.message_id"), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_message_revisions_message", "message_revisions", ["message_id"])
    _create_incident_tables()
    _create_delivery_tables()


def _create_incident_tables() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.Text, primary_key=True),
        sa.Column(
            "message_id",
            sa.Text,
            sa.ForeignKey("messages.message_id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("department", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("assigned_at", TZ),
        sa.Column("first_response_due", TZ),
        sa.Column("final_answer_due", TZ),
        sa.Column("policy_version", sa.Text),
        sa.Column("policy_rule", sa.Text),
        sa.Column("first_response_at", TZ),
        sa.Column("final_answer_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claim_expires_at", TZ),
        sa.Column("on_time", sa.Boolean),
        sa.Column("on_time_reason", sa.Text),
        sa.Column("updated_at", TZ, nullable=False, server_default=NOW),
    )
    op.create_index("ix_incidents_status_due", "incidents", ["status", "final_answer_due"])
    op.create_index(
        "ix_incidents_municipality_assigned", "incidents", ["municipality", "assigned_at"]
    )
    op.create_table(
        "incident_events",
        sa.Column("incident_id", sa.Text, sa.ForeignKey("incidents.incident_id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("data", JSONB, nullable=False),
    )


def _create_delivery_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=NOW),
        sa.Column("published_at", TZ),
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", sa.Text, primary_key=True),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("source_topic", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("failed_at", TZ, nullable=False),
        sa.Column("stored_at", TZ, nullable=False, server_default=NOW),
    )
    op.create_table(
        "indicator_values",
        sa.Column("municipality", sa.Text, primary_key=True),
        sa.Column("month", sa.Text, primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("computed_at", TZ, nullable=False),
        sa.Column("inputs_digest", sa.Text, nullable=False),
        sa.Column("record", JSONB, nullable=False),
        sa.Column("inputs", JSONB, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "indicator_values", "dead_letters", "outbox", "incident_events", "incidents",
        "message_revisions", "message_authors", "messages",
    ):  # fmt: skip
        op.drop_table(table)
