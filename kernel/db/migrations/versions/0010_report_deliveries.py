"""The monthly report e-mails: a row per recipient of each closed indicator revision, written in
the revision's own transaction and marked sent (or failed, with the error) by the aggregator's
sender. The unique key makes a revision's e-mail to one address exist once.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("month", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ux_report_deliveries_once",
        "report_deliveries",
        ["municipality", "month", "revision", "recipient"],
        unique=True,
    )
    op.create_index(
        "ix_report_deliveries_due",
        "report_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status <> 'sent'"),
    )


def downgrade() -> None:
    op.drop_index("ix_report_deliveries_due", table_name="report_deliveries")
    op.drop_index("ux_report_deliveries_once", table_name="report_deliveries")
    op.drop_table("report_deliveries")
