"""Versioned topic names. A breaking change to a model gets a new name (``.v2``), never an edit."""

from enum import StrEnum


class Topic(StrEnum):
    RAW_MESSAGES = "otklik.messages.raw.v1"
    CLASSIFIED_MESSAGES = "otklik.messages.classified.v1"
    INCIDENT_EVENTS = "otklik.incidents.events.v1"
    MONTHLY_INDICATORS = "otklik.indicators.monthly.v1"
    DEAD_LETTERS = "otklik.deadletters.v1"
    ANSWER_DELIVERIES = "otklik.answers.deliveries.v1"


def topic_name(topic: Topic, namespace: str = "") -> str:
    """The broker-side name; a namespace lets installations (or test runs) share a cluster."""
    return f"{namespace}{topic.value}"
