"""Logging set-up and the metrics of one process (one registry per process, bounded labels:
municipality, source kind, category, stage — never message or user ids)."""

import logging
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# From a minute to a week: SLA clocks run in working hours and days.
RESPONSE_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


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
            "Sources or posts VK refused access to (errors 15, 18, 30, 212)",
            ["scope"],
            registry=r,
        )
        self.vk_longpoll_failed = Counter(
            "otklik_vk_longpoll_failed",
            "Bots Long Poll 'failed' replies (1: history lost, 2: key expired, 3: both)",
            ["failed"],
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
            ["municipality"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
        self.final_answer = Histogram(
            "otklik_time_to_final_answer_seconds",
            "From assignment to the final answer",
            ["municipality"],
            buckets=RESPONSE_BUCKETS,
            registry=r,
        )
