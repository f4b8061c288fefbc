"""Users get a scope (the municipalities, regions and departments they work in) and an origin
(local or a directory); account changes are kept in an audit log.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # {} is everything; see services/auth/scopes.py for the keys.
    op.add_column(
        "users", sa.Column("scope", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"))
    )
    op.add_column(
        "users", sa.Column("origin", sa.Text, nullable=False, server_default=sa.text("'local'"))
    )
    # A directory's user has no password here.
    op.alter_column("users", "password_hash", nullable=True)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    op.alter_column("users", "password_hash", nullable=False)
    op.drop_column("users", "origin")
    op.drop_column("users", "scope")
