"""Incidents get a short number: a sequence per municipality and year (the year of the resident's
message), kept in incident_counters whose row the creating transaction updates, so two incidents
created at once never share a number. The municipality that gave the number is kept with it: a
reassigned incident keeps its number. Existing incidents are numbered in the order they were
opened. The prefix («СЕВ») is the policy's and is added where the number is shown.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The policy is not read here: rows already stored take their year in the default time zone.
BACKFILL = """
WITH numbered AS (
    SELECT i.incident_id,
           EXTRACT(YEAR FROM m.created_at AT TIME ZONE 'Europe/Moscow')::int AS year,
           ROW_NUMBER() OVER (
               PARTITION BY i.municipality,
                            EXTRACT(YEAR FROM m.created_at AT TIME ZONE 'Europe/Moscow')
               ORDER BY o.at, m.created_at, i.incident_id
           ) AS number
    FROM incidents i
    JOIN messages m ON m.message_id = i.message_id
    LEFT JOIN incident_events o ON o.incident_id = i.incident_id AND o.seq = 0
)
UPDATE incidents
SET number_municipality = municipality, number_year = numbered.year, number = numbered.number
FROM numbered WHERE numbered.incident_id = incidents.incident_id
"""


def upgrade() -> None:
    op.create_table(
        "incident_counters",
        sa.Column("municipality", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.add_column("incidents", sa.Column("number_municipality", sa.Text))
    op.add_column("incidents", sa.Column("number_year", sa.Integer))
    op.add_column("incidents", sa.Column("number", sa.Integer))
    op.execute(BACKFILL)
    op.execute(
        "INSERT INTO incident_counters (municipality, year, last)"
        " SELECT number_municipality, number_year, MAX(number) FROM incidents"
        " GROUP BY number_municipality, number_year"
    )
    op.alter_column("incidents", "number_municipality", nullable=False)
    op.alter_column("incidents", "number_year", nullable=False)
    op.alter_column("incidents", "number", nullable=False)
    op.create_index(
        "ux_incidents_number",
        "incidents",
        ["number_municipality", "number_year", "number"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_incidents_number", table_name="incidents")
    op.drop_column("incidents", "number")
    op.drop_column("incidents", "number_year")
    op.drop_column("incidents", "number_municipality")
    op.drop_table("incident_counters")
