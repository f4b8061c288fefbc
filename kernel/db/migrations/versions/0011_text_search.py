"""Full-text search of the queue (issue 21, teamwork): GIN indexes over the Russian text search
vectors of the residents' messages and of the internal notes (``noted`` events), so that
``websearch_to_tsquery('russian', …)`` finds «собаки» for «собака» without reading every row.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_messages_text_search ON messages "
        "USING gin (to_tsvector('russian'::regconfig, text))"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_incident_events_note_search ON incident_events "
        "USING gin (to_tsvector('russian'::regconfig, data ->> 'text')) WHERE type = 'noted'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_incident_events_note_search")
    op.execute("DROP INDEX IF EXISTS ix_messages_text_search")
