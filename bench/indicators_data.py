"""Synthetic month for the indicators benchmark, generated inside PostgreSQL.

Rows are produced server-side (``INSERT ... SELECT`` over ``generate_series``): nothing crosses
the socket but the statements, which is far faster than building rows in Python and streaming
them through COPY. ``setseed`` makes the data identical run to run (the inserts are not run in
parallel, so ``random()`` is called in one fixed order).

The mixes follow what a city sees: a regional centre and many small districts (municipality
drawn as ``floor(M * u²)``: with M = 60 the largest gets ~13% of the incidents, the smallest
under 1%), most incidents closed, a few rejected as «не инцидент» or deleted at the source,
on-time decisions only where a final answer exists, official replies stored beside residents'
messages, and resident messages that are not incidents at all.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

# One row per incident with every random draw it needs, so that the incident, its resident
# message and the administration's reply all agree. Each draw is its own random() column
# (u_*): reusing one would correlate, say, municipality with time of month. Rows are numbered
# (i) in time order and the table is written in that order (a temporary table is never scanned
# in parallel, so the incidents insert reads it back in that order without sorting): production
# inserts in time order, and the primary keys, built from i, grow at their right edge instead of
# at random leaf pages that 128 MB of shared buffers cannot hold.
GENERATE = """
CREATE TEMP TABLE bench_gen ON COMMIT DROP AS
WITH draws AS (
    SELECT random() AS u_mun, random() AS u_time, random() AS u_delay, random() AS u_status,
           random() AS u_late, random() AS u_reply, random() AS u_sent, random() AS u_cat
    FROM generate_series(1, %(incidents)s::int)
), shaped AS (
    SELECT u_reply, u_sent, floor(u_cat * 6)::int AS cat, u_late >= 0.78 AS late,
           'mun-' || lpad((floor(%(municipalities)s::int * u_mun * u_mun) + 1)::text, 3, '0')
               AS municipality,
           %(start)s::timestamptz
               + u_time * (%(end)s::timestamptz - %(start)s::timestamptz - interval '1 hour')
               AS created_at,
           u_delay * interval '20 minutes' AS delay,
           CASE WHEN u_status < 0.03 THEN 'rejected' WHEN u_status < 0.05 THEN 'new'
                WHEN u_status < 0.11 THEN 'assigned' WHEN u_status < 0.20 THEN 'in_work'
                WHEN u_status < 0.38 THEN 'answered' WHEN u_status < 0.98 THEN 'closed'
                ELSE 'source_deleted' END AS status
    FROM draws
), assigned AS (
    SELECT *, CASE WHEN status <> 'new' THEN created_at + delay END AS assigned_at,
           status IN ('answered', 'closed')
               OR (status = 'in_work' AND u_reply < 0.5)
               OR (status = 'source_deleted' AND u_reply < 0.3)
               OR (status = 'rejected' AND u_reply < 0.1) AS replied
    FROM shaped
), decided AS (
    SELECT *,
           CASE WHEN replied THEN assigned_at + CASE WHEN late THEN 1.2 + 3 * u_reply
                                                     ELSE 0.9 * u_reply END * interval '1 day'
           END AS first_response_at,
           CASE WHEN status IN ('answered', 'closed') THEN NOT late
                WHEN status = 'source_deleted' THEN replied AND NOT late END AS on_time,
           (ARRAY['roads', 'housing', 'cleaning', 'transport', 'lighting', 'landscaping'])
               [cat + 1] AS category,
           CASE WHEN u_sent < 0.01 THEN NULL WHEN u_sent < 0.46 THEN 'negative'
                WHEN u_sent < 0.86 THEN 'neutral' ELSE 'positive' END AS sentiment
    FROM assigned
)
SELECT row_number() OVER (ORDER BY created_at) AS i, *,
       -- zero-padded so that text order is time order (see above); VK's own ids are numeric
       'vk:-210000777:' || lpad((row_number() OVER (ORDER BY created_at) / 25)::text, 6, '0')
           AS thread_key
FROM decided ORDER BY created_at
"""

MESSAGE_COLUMNS = """
INSERT INTO messages (message_id, source_kind, channel, source_id, thread_key, reply_to, text,
    attachments, is_official, created_at, received_at, municipality, department, is_incident,
    score, category, sentiment, model_version)
"""

TEXTS = """(ARRAY[
    'Яма на дороге у дома, машины бьют подвеску, уже две недели никто не едет',
    'Нет горячей воды третий день, управляющая компания трубку не берёт',
    'Не вывозят мусор со двора, контейнеры переполнены, пахнет на весь квартал',
    'Автобус по утрам не приходит по расписанию, дети опаздывают в школу',
    'Не горят фонари на всей улице, вечером идти страшно',
    'Во дворе сломаны качели и не убран снег с детской площадки'])"""

RESIDENT_MESSAGES = f"""
SELECT thread_key || ':' || lpad(i::text, 8, '0'), 'vk_group', 'vk', 'vk:-210000777',
       thread_key, NULL, {TEXTS}[cat + 1] || ', обращение ' || i, '[]'::jsonb, false,
       created_at, created_at + interval '3 seconds', municipality, 'dept-' || category, true,
       0.6 + 0.4 * u_sent, category, sentiment, 'clf-2026.09'
FROM bench_gen
"""

# The administration's public replies: stored as messages too, and the indicator must skip them.
OFFICIAL_REPLIES = """
SELECT thread_key || ':r' || lpad(i::text, 8, '0'), 'vk_group', 'vk', 'vk:-210000777',
       thread_key, thread_key || ':' || lpad(i::text, 8, '0'),
       'Здравствуйте! Заявка передана в ' || category || ', срок ответа — 10 рабочих дней.',
       '[]'::jsonb, true, first_response_at, first_response_at + interval '3 seconds',
       municipality, 'dept-' || category, false, 0.05, NULL, 'neutral', 'clf-2026.09'
FROM bench_gen WHERE first_response_at IS NOT NULL
"""

# Chatter, thanks and questions the classifier did not take as incidents (half as many), in
# time order: j-th of them falls in the j-th slice of the month.
OTHER_MESSAGES = """
SELECT 'vk:-210000777:o' || lpad(j::text, 8, '0'), 'vk_group', 'vk', 'vk:-210000777',
       'vk:-210000777:o' || lpad((j / 25)::text, 6, '0'), NULL,
       'Спасибо за новости, а когда откроют парк после ремонта? Вопрос ' || j, '[]'::jsonb,
       false, created_at, created_at + interval '3 seconds', municipality, NULL, false,
       0.3 * u_sent, NULL,
       CASE WHEN u_sent < 0.25 THEN 'negative' WHEN u_sent < 0.75 THEN 'neutral'
            ELSE 'positive' END, 'clf-2026.09'
FROM (
    SELECT j, random() AS u_sent,
           'mun-' || lpad((floor(%(municipalities)s::int * power(random(), 2)) + 1)::text, 3, '0')
               AS municipality,
           %(start)s::timestamptz + (j - random()) / (%(incidents)s::int / 2)
               * (%(end)s::timestamptz - %(start)s::timestamptz) AS created_at
    FROM generate_series(1, %(incidents)s::int / 2) AS j
) AS other
"""

INCIDENTS = """
INSERT INTO incidents (incident_id, message_id, channel, category, municipality, department,
    status, seq, assigned_at, first_response_due, final_answer_due, policy_version, policy_rule,
    first_response_at, final_answer_at, closed_at, on_time, on_time_reason, updated_at,
    number_municipality, number_year, number)
SELECT 'inc-' || lpad(i::text, 8, '0'), thread_key || ':' || lpad(i::text, 8, '0'), 'vk',
       category, municipality, 'dept-' || category, status,
       CASE WHEN status = 'new' THEN 1 WHEN first_response_at IS NULL THEN 2 ELSE 4 END,
       assigned_at, assigned_at + interval '1 day', assigned_at + interval '10 days',
       'sla-2026.1', 'vk-default', first_response_at,
       CASE WHEN on_time IS NOT NULL THEN first_response_at + u_reply * interval '5 days' END,
       CASE WHEN status = 'closed' THEN first_response_at + interval '6 days' END,
       on_time, CASE WHEN on_time THEN 'в срок' WHEN NOT on_time THEN 'просрочен ответ' END,
       coalesce(first_response_at, assigned_at, created_at), municipality, 2026, i
FROM bench_gen
"""

# All messages in one statement, in time order as production writes them: a municipality's
# messages then lie in heap order along ix_messages_municipality_created, as they would.
# Column 10 is created_at (see MESSAGE_COLUMNS).
MESSAGES = f"""{MESSAGE_COLUMNS}
SELECT * FROM ({RESIDENT_MESSAGES} UNION ALL {OFFICIAL_REPLIES} UNION ALL {OTHER_MESSAGES}
) AS message ORDER BY 10
"""

STATEMENTS = (GENERATE, MESSAGES, INCIDENTS)


@dataclass(frozen=True)
class Loaded:
    incidents: int
    messages: int
    load_seconds: float  # generation and inserts, index upkeep included
    analyze_seconds: float
    largest: str  # the municipality with the most incidents
    per_municipality: tuple[int, int]  # fewest and most incidents of one municipality


def load_month(
    url: str, incidents: int, municipalities: int, start: datetime, end: datetime
) -> Loaded:
    """Generate and insert one month; then VACUUM (ANALYZE) so that the measurements that
    follow see fresh statistics and a set visibility map, as autovacuum would leave them —
    and so that autovacuum does not wake up in the middle of a timed run instead."""
    params = {"incidents": incidents, "municipalities": municipalities, "start": start, "end": end}
    with psycopg.connect(url, autocommit=True) as connection:
        started = time.perf_counter()
        with connection.transaction():
            connection.execute("SELECT setseed(0.42)")
            # The rows are consistent by construction (each incident's message is inserted
            # first); skipping the per-row foreign-key triggers avoids one lookup per incident.
            connection.execute("SET LOCAL session_replication_role = replica")
            connection.execute("SET LOCAL maintenance_work_mem = '256MB'")
            with secondary_indexes_rebuilt(connection):
                for statement in STATEMENTS:
                    connection.execute(statement, params if "%(" in statement else None)
        loaded = time.perf_counter() - started
        for table in ("messages", "incidents"):
            connection.execute(f"VACUUM (ANALYZE) {table}")
        analyzed = time.perf_counter() - started - loaded
        largest, fewest_most = spread(connection)
        return Loaded(
            incidents=count(connection, "incidents"),
            messages=count(connection, "messages"),
            load_seconds=loaded,
            analyze_seconds=analyzed,
            largest=largest,
            per_municipality=fewest_most,
        )


@contextmanager
def secondary_indexes_rebuilt(connection: psycopg.Connection[TupleRow]) -> Iterator[None]:
    """Drop the plain (non-constraint) indexes of the loaded tables and rebuild them afterwards
    from their own definitions: one sort per index instead of millions of random inserts into
    indexes larger than the buffer cache. All in the caller's transaction, so the migrated
    schema is never seen without them; keys and unique constraints stay in place."""
    definitions = connection.execute(
        "SELECT index.relname, pg_get_indexdef(index.oid) FROM pg_index"
        " JOIN pg_class AS index ON index.oid = pg_index.indexrelid"
        " WHERE pg_index.indrelid IN ('messages'::regclass, 'incidents'::regclass)"
        " AND NOT pg_index.indisunique"
    ).fetchall()
    for name, _ in definitions:
        connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    for _, definition in definitions:
        connection.execute(definition)


def count(connection: psycopg.Connection[TupleRow], table: str) -> int:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def spread(connection: psycopg.Connection[TupleRow]) -> tuple[str, tuple[int, int]]:
    """The largest municipality, and the fewest and most incidents any municipality has."""
    rows = connection.execute(
        "SELECT municipality, count(*) FROM incidents GROUP BY municipality ORDER BY 2 DESC"
    ).fetchall()
    return str(rows[0][0]), (int(rows[-1][1]), int(rows[0][1]))
