"""Logging set-up and the metrics of one process (one registry per process, bounded labels:
municipality, source kind, category, stage — never message or user ids)."""

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

# From a minute to a month: SLA clocks run in working hours and days, appeals in calendar days.
RESPONSE_BUCKETS = (
    60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 345600, 604800, 1209600, 2592000,
)  # fmt: skip
Labels = tuple[str, ...]

# The latest indicator values the aggregator exports (field of IndicatorRecord -> metric, help).
INDICATOR_GAUGES: dict[str, tuple[str, str]] = {
    "a2": ("otklik_indicator_a2", "A_2 = N_отр / N_назн · k_об of the month's latest revision"),
    "k_ob": ("otklik_indicator_k_ob", "k_об of the month's latest revision"),
    "share_processed": (
        "otklik_indicator_share_processed_percent",
        "Share of processed messages, %, latest revision",
    ),
    "share_negative": (
        "otklik_indicator_share_negative_percent",
        "Share of negative messages, %, latest revision",
    ),
    "n_assigned": ("otklik_indicator_assigned", "N_назн: incidents assigned in the month"),
    "n_handled_on_time": ("otklik_indicator_handled_on_time", "N_отр: handled on time"),
    "n_messages": ("otklik_indicator_messages", "Residents' messages of the month"),
    "revision": ("otklik_indicator_revision", "Revision the exported values come from"),
}


# Secrets with a shape, wherever they are written: a query parameter (urllib3 logs the VK long poll
# URL with its key at DEBUG, and a connection failure at WARNING; requests puts it in the
# exception), a key of a dict or JSON body, the password of a URL, a VK token.
_NAMES = r"key|access_token|token|secret|password|client_secret"
_SHAPED = [
    re.compile(rf"(?i)(?<![\w-])((?:{_NAMES})=)[^&\s'\"]+"),
    re.compile(rf"(?i)(['\"](?:{_NAMES})['\"]\s*:\s*['\"])[^'\"]+"),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(?=@)"),
    re.compile(r"()\bvk1\.a\.[\w-]+"),
    re.compile(r"()\b[0-9a-f]{85}\b"),  # VK's older tokens: 85 hex digits
]
_HIDDEN = "***"
# A shorter configured value would hide ordinary words all over the log; the shaped patterns
# still hide it where it is written as what it is.
_SHORTEST_SECRET = 6


class SecretRedaction(logging.Filter):
    """Hides secrets in a record before any handler writes it: the message with its arguments,
    the exception's traceback and the stack. Installed on the root handlers, so it holds for
    every logger that propagates (otklik's, urllib3's, vk_api's, uvicorn's error log)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        known = {value for value in secrets if len(value) >= _SHORTEST_SECRET}
        self._known = sorted(known, key=len, reverse=True)  # a secret inside another: longest first

    def redact(self, text: str) -> str:
        for value in self._known:
            text = text.replace(value, _HIDDEN)
        for pattern in _SHAPED:
            text = pattern.sub(rf"\1{_HIDDEN}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: shown, but hidden too
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """The process's logging: one line per record on stderr, every root handler hiding
    ``secrets`` (the configured values) and secrets of a known shape."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    redaction = SecretRedaction(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretRedaction)]:
            handler.removeFilter(old)
        handler.addFilter(redaction)


class SnapshotGauge:
    """A gauge family replaced as a whole from a database query: a group that disappeared from
    the database disappears from /metrics at the next refresh, and a scrape never sees half a
    refresh (the mapping is swapped in one assignment)."""

    def __init__(
        self, name: str, documentation: str, labels: list[str], registry: CollectorRegistry
    ) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        self._values: dict[Labels, float] = {}
        registry.register(self)

    def replace(self, values: Mapping[Labels, float]) -> None:
        if any(len(key) != len(self.labels) for key in values):
            raise ValueError(f"{self.name}: every sample needs the labels {self.labels}")
        self._values = dict(values)

    def value(self, *labels: str) -> float | None:
        return self._values.get(labels)

    def samples(self) -> dict[Labels, float]:
        return dict(self._values)

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, self.documentation, labels=self.labels)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in self._values.items():
            family.add_metric(list(labels), value)
        return [family]


@dataclass
class Metrics:
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.ingested = Counter(
            "otklik_messages_ingested",
            "Messages published by ingestors",
            ["source_kind"],
            registry=r,
        )
        self.classified = Counter(
            "otklik_messages_classified", "Messages classified", ["category", "flagged"], registry=r
        )
        self.stored = Counter(
            "otklik_messages_stored",
            "Messages stored for the first time",
            ["source_kind"],
            registry=r,
        )
        self.incidents = Counter(
            "otklik_incident_transitions",
            "Incident lifecycle transitions",
            ["type", "municipality"],
            registry=r,
        )
        self.dead_letters = Counter(
            "otklik_dead_letters", "Inputs sent to the dead-letter topic", ["stage"], registry=r
        )
        self.notifications = Counter(
            "otklik_notifications",
            "Notifications for people handed to their channel (sent) or not (failed: retried "
            "later, or refused for good), by channel (email, telegram); a digest counts once",
            ["channel", "result"],
            registry=r,
        )
        self.vk_calls = Counter(
            "otklik_vk_api_calls",
            "VK API calls by method and result (ok, an error code, http, network)",
            ["method", "result"],
            registry=r,
        )
        self.vk_token_invalid = Gauge(
            "otklik_vk_token_invalid",
            "1 when VK rejected the named token (error 5): it must be renewed",
            ["token"],
            registry=r,
        )
        self.vk_inaccessible = Counter(
            "otklik_vk_inaccessible",
            "Sources or posts VK refused access to (errors 15, 18, 30, 203, 212)",
            ["scope"],
            registry=r,
        )
        self.vk_source_inaccessible = Gauge(
            "otklik_vk_source_inaccessible",
            "1 while VK denies access to a polled group (errors 15, 18, 30, 203): it is skipped",
            ["source"],
            registry=r,
        )
        self.vk_longpoll_failed = Counter(
            "otklik_vk_longpoll_failed",
            "Bots Long Poll 'failed' replies (1: history lost, 2: key expired, 3: both)",
            ["failed"],
            registry=r,
        )
        self.vk_events_ignored = Counter(
            "otklik_vk_events_ignored",
            "VK events of a type otklik does not turn into a message, by type ('other' for a type "
            "VK does not document); acknowledged, not dead-lettered",
            ["type"],
            registry=r,
        )
        self.vk_replies = Counter(
            "otklik_vk_replies",
            "Moderators' answers posted to VK (posted) or not (failed: retried or dead-lettered)",
            ["result"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "otklik_outbox_backlog", "Outbox rows not yet published", registry=r
        )
        self.calendar_last_year = Gauge(
            "otklik_calendar_last_year",
            "Last year of the production calendar the SLA stage computes deadlines in (0 in "
            "processes that compute none); a later year is refused",
            registry=r,
        )
        self.batch_records = Histogram(
            "otklik_consumed_batch_records",
            "Records a stage handled together (one transaction); larger under a backlog",
            ["stage"],
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
            registry=r,
        )
        self.classifier_latency = Histogram(
            "otklik_classifier_latency_seconds",
            "Time to classify one message",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5),
            registry=r,
        )
        self.model_version = Gauge(
            "otklik_classifier_model_info", "Promoted model in use", ["version"], registry=r
        )
        self.first_response = Histogram(
            "otklik_time_to_first_response_seconds",
            "From assignment to the first public reply",
            ["municipality", "department"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
        self.final_answer = Histogram(
            "otklik_time_to_final_answer_seconds",
            "From assignment to the final answer",
            ["municipality", "department"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "otklik_consumer_lag",
            "Messages of an assigned partition not yet processed: end offset minus the group's "
            "committed offset (measured by the consuming process)",
            ["topic", "group", "partition"],
            registry=r,
        )
        self._add_snapshots(r)

    def _add_snapshots(self, r: CollectorRegistry) -> None:
        """Gauges refreshed from PostgreSQL: the SLA process (incidents, sources) and the
        aggregator (indicators). Counters die with a process; these tell the state now."""
        place = ["municipality", "department"]
        self.municipality_info = SnapshotGauge(
            "otklik_municipality_info",
            "1 per municipality of the SLA policy or of the incident gauges, with its name (the id "
            "where the policy names none): dashboards join it on municipality for their legends",
            ["municipality", "municipality_name"],
            r,
        )
        self.incidents_open = SnapshotGauge(
            "otklik_incidents_open", "Open incidents now, by status", ["status", *place], r
        )
        self.incidents_overdue = SnapshotGauge(
            "otklik_incidents_overdue",
            "Open incidents past a deadline they have not met, by clock (first_response, "
            "final_answer); 0 for every place with open incidents",
            ["clock", *place],
            r,
        )
        self.incidents_due_soon = SnapshotGauge(
            "otklik_incidents_due_soon",
            "Open incidents whose deadline falls within the policy's warning lead, by clock",
            ["clock", *place],
            r,
        )
        self.incidents_this_month = SnapshotGauge(
            "otklik_incidents_this_month",
            "Incidents assigned this month (municipality's time zone, rejected excluded) by "
            "outcome: on_time, late (answered late or past a deadline), pending",
            ["outcome", *place],
            r,
        )
        self.response_this_month = SnapshotGauge(
            "otklik_response_seconds_this_month",
            "Quantiles (0.5, 0.9) of the wall-clock seconds from assignment to the first response "
            "or final answer (clock) over this month's incidents that have one",
            ["clock", "quantile", *place],
            r,
        )
        where = ["source", "channel", "municipality"]
        # Seconds since, not a timestamp: every comparison of a data time with "now" is made on
        # otklik's one clock (kernel/clock.py), never on the scraping Prometheus's.
        self.source_silence = SnapshotGauge(
            "otklik_source_silence_seconds",
            "Seconds since a resident last wrote in the source (sources heard from in 90 days)",
            where,
            r,
        )
        self.source_usual_gap = SnapshotGauge(
            "otklik_source_usual_gap_seconds",
            "90th percentile of the gaps between residents' messages of the source over the last "
            "14 days (sources with at least 5 gaps)",
            where,
            r,
        )
        self.indicators = {
            # The name (from the policy) is for dashboards' legends; the id stays the key.
            field_name: SnapshotGauge(name, doc, ["municipality", "municipality_name", "month"], r)
            for field_name, (name, doc) in INDICATOR_GAUGES.items()
        }
