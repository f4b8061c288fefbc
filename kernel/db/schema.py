"""Tables (SQLAlchemy Core). Alembic migrations under migrations/ create them; a test checks that
the migrated database and this metadata agree."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()
JSONType = JSON().with_variant(JSONB(), "postgresql")
# Python None is SQL NULL here, not JSON null: rows written in bulk carry every column.
NullableJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
TZ = DateTime(timezone=True)

messages = Table(
    "messages",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("source_kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("thread_key", Text, nullable=False),
    Column("reply_to", Text),
    Column("text", Text, nullable=False),
    Column("url", Text),
    Column("attachments", JSONType, nullable=False),
    Column("is_official", Boolean, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("stored_at", TZ, nullable=False, server_default=text("now()")),
    Column("edited_at", TZ),
    Column("deleted_at", TZ),
    Column("municipality", Text, nullable=False),
    Column("department", Text),
    Column("is_incident", Boolean),
    Column("score", Float),
    Column("category", Text),
    Column("sentiment", Text),
    Column("model_version", Text),
    Column("explanation", NullableJSON),
    Index(
        "ix_messages_municipality_created_sentiment",
        "municipality",
        "created_at",
        postgresql_include=["is_official", "sentiment"],
    ),
    Index("ix_messages_reply_to", "reply_to"),
    # The queue's text search (sla/storage/queue.py): the same expression, or it is not used.
    Index(
        "ix_messages_text_search",
        text("to_tsvector('russian'::regconfig, text)"),
        postgresql_using="gin",
    ),
)

message_authors = Table(
    "message_authors",
    metadata,
    Column("message_id", Text, ForeignKey("messages.message_id"), primary_key=True),
    Column("ref", Text),
    Column("name", Text),
    Column("contact", Text),
    Column("redacted_at", TZ),
    Index("ix_message_authors_ref", "ref"),
)

message_revisions = Table(
    "message_revisions",
    metadata,
    Column("revision_key", Text, primary_key=True),
    Column("message_id", Text, ForeignKey("messages.message_id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("at", TZ, nullable=False),
    Index("ix_message_revisions_message", "message_id"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", Text, primary_key=True),
    Column("message_id", Text, ForeignKey("messages.message_id"), nullable=False, unique=True),
    Column("channel", Text, nullable=False),
    Column("category", Text),
    Column("municipality", Text, nullable=False),
    Column("department", Text),
    Column("status", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("assigned_at", TZ),
    Column("first_response_due", TZ),
    Column("final_answer_due", TZ),
    Column("policy_version", Text),
    Column("policy_rule", Text),
    Column("first_response_at", TZ),
    Column("final_answer_at", TZ),
    Column("closed_at", TZ),
    Column("claimed_by", Text),
    Column("claim_expires_at", TZ),
    Column("on_time", Boolean),
    Column("on_time_reason", Text),
    Column("warned_first_response", Boolean, nullable=False, server_default=text("false")),
    Column("warned_final_answer", Boolean, nullable=False, server_default=text("false")),
    Column("overdue_first_response", Boolean, nullable=False, server_default=text("false")),
    Column("overdue_final_answer", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", TZ, nullable=False, server_default=text("now()")),
    # The short number («СЕВ-2026-000123» with the policy's prefix): per municipality and year,
    # of the municipality that gave it (a reassigned incident keeps its number).
    Column("number_municipality", Text, nullable=False),
    Column("number_year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Index("ix_incidents_status_due", "status", "final_answer_due"),
    Index(
        "ix_incidents_municipality_assigned_inputs",
        "municipality",
        "assigned_at",
        postgresql_include=["status", "on_time", "first_response_at", "final_answer_at"],
    ),
    Index("ux_incidents_number", "number_municipality", "number_year", "number", unique=True),
)

# The last number given per municipality and year; its row is locked by the creating
# transaction (sla/storage/numbers.py), so concurrent creations never share a number.
incident_counters = Table(
    "incident_counters",
    metadata,
    Column("municipality", Text, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("incident_id", Text, ForeignKey("incidents.incident_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", TZ, nullable=False),
    Column("reason", Text),
    Column("data", JSONType, nullable=False),
    # The queue's text search over the internal notes (sla/storage/queue.py).
    Index(
        "ix_incident_events_note_search",
        text("to_tsvector('russian'::regconfig, data ->> 'text')"),
        postgresql_using="gin",
        postgresql_where=text("type = 'noted'"),
    ),
    # The notifier's events (services/notifications/store.py), read every round.
    Index(
        "ix_incident_events_notified",
        "at",
        postgresql_where=text("type IN ('deadline_warning', 'overdue', 'answer_failed')"),
    ),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("topic", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("published_at", TZ),
    Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", Text, primary_key=True),
    Column("stage", Text, nullable=False),
    Column("source_topic", Text),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("failed_at", TZ, nullable=False),
    Column("stored_at", TZ, nullable=False, server_default=text("now()")),
)

indicator_values = Table(
    "indicator_values",
    metadata,
    Column("municipality", Text, primary_key=True),
    Column("month", Text, primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("computed_at", TZ, nullable=False),
    Column("inputs_digest", Text, nullable=False),
    Column("record", JSONType, nullable=False),
    Column("inputs", JSONType, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("login", Text, primary_key=True),
    Column("password_hash", Text),  # NULL for a directory's user
    Column("role", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    # Where the user works: {} everything; services/auth/scopes.py has the keys.
    Column("scope", JSONType, nullable=False, server_default=text("'{}'::jsonb")),
    Column("origin", Text, nullable=False, server_default=text("'local'")),  # local, ldap, oidc
)

# Who changed which account, when and how (the admin page shows it).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("details", JSONType, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_audit_log_at", "at"),
)

# Canned replies, managed on the admin page (services/web/templates_store.py); NULL municipality
# or department: offered for all of them.
reply_templates = Table(
    "reply_templates",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("municipality", Text),
    Column("department", Text),
    Column("updated_at", TZ, nullable=False),
    Column("updated_by", Text, nullable=False),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("token_sha256", Text, primary_key=True),
    Column("login", Text, ForeignKey("users.login"), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
)

ingest_cursors = Table(
    "ingest_cursors",
    metadata,
    Column("source_id", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("value", JSONType, nullable=False),
    Column("updated_at", TZ, nullable=False, server_default=text("now()")),
)

# The latest moderator decision per message (sla/labels.py says which decisions count). The text
# is copied at decision time, because the label is about the text the moderator saw (a resident
# may edit it later); like messages.text and message_revisions.text it is keyed by message_id, so
# a redaction request clears it with them. No author is stored here.
moderator_labels = Table(
    "moderator_labels",
    metadata,
    Column("message_id", Text, ForeignKey("messages.message_id"), primary_key=True),
    Column("incident_id", Text, ForeignKey("incidents.incident_id"), nullable=False),
    Column("text", Text, nullable=False),
    Column("is_incident", Boolean, nullable=False),
    Column("category", Text),
    Column("decision", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("decided_at", TZ, nullable=False),
)

# The monthly report e-mails (sla/delivery/): a row per recipient of each closed revision, written
# in the revision's transaction (an outbox of its own); the sender marks it sent or failed.
report_deliveries = Table(
    "report_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("municipality", Text, nullable=False),
    Column("month", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("created_at", TZ, nullable=False),
    Column("next_attempt_at", TZ, nullable=False),
    Column("sent_at", TZ),
    Index(
        "ux_report_deliveries_once",
        "municipality",
        "month",
        "revision",
        "recipient",
        unique=True,
    ),
    Index("ix_report_deliveries_due", "next_attempt_at", postgresql_where=text("status <> 'sent'")),
)

# Notifications for people (services/notifications/): what each user wants, and an outbox of one
# row per user, incident, kind and channel — the unique key is what makes a restart or a second
# look at the same events notify nobody twice.
# Who has an incident page open (services/web/presence.py): a row per page's user, refreshed
# by its heartbeat, deleted by its goodbye or once older than the TTL.
incident_viewers = Table(
    "incident_viewers",
    metadata,
    Column("incident_id", Text, primary_key=True),
    Column("login", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("seen_at", TZ, nullable=False),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("login", Text, ForeignKey("users.login", ondelete="CASCADE"), primary_key=True),
    Column("email", Text),
    Column("telegram_chat", Text),
    Column("kinds", JSONType, nullable=False),
    Column("digest", Boolean, nullable=False, server_default=text("false")),
    Column("digest_hour", Integer, nullable=False, server_default=text("9")),
    Column("timezone", Text),  # NULL: the SLA policy's default zone
    Column("updated_at", TZ, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("login", Text, ForeignKey("users.login", ondelete="CASCADE"), nullable=False),
    Column("incident_id", Text, ForeignKey("incidents.incident_id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("digest", Boolean, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("created_at", TZ, nullable=False),
    Column("next_attempt_at", TZ),  # NULL: given up (the receiver refused for good)
    Column("sent_at", TZ),
    Index("ux_notifications_once", "login", "incident_id", "kind", "channel", unique=True),
    Index("ix_notifications_due", "next_attempt_at", postgresql_where=text("status <> 'sent'")),
)
