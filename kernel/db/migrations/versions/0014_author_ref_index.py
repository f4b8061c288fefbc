"""An index on the author of each message: the incident page lists the resident's other messages
(sla/storage/resident.py) and a redaction request finds every message of an author by it; both
read the whole message_authors table without one.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_message_authors_ref", "message_authors", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_message_authors_ref", table_name="message_authors")
