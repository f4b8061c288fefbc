"""The monthly report as a webhook for the region's systems, without the sending: the JSON body
(the revision's indicators, named and keyed) and its signature.

The signature is HMAC-SHA256 with the shared key over ``<timestamp>.<body>``, sent as
``X-Otklik-Signature: sha256=<hex>`` with the timestamp in ``X-Otklik-Timestamp``: the
receiver recomputes it over the raw body, compares in constant time, and refuses an old
timestamp, so a captured request cannot be replayed later. ``X-Otklik-Delivery`` is the same on
every attempt of one delivery (the e-mail's Message-ID stem): the receiver drops a repeat by it.
"""

import hashlib
import hmac
import json

from kernel.contracts.indicators import IndicatorRecord

EVENT = "otklik.report.month_closed"
SIGNATURE_HEADER = "X-Otklik-Signature"
TIMESTAMP_HEADER = "X-Otklik-Timestamp"
DELIVERY_HEADER = "X-Otklik-Delivery"


def body(record: IndicatorRecord, name: str, region: str | None, delivery: str) -> bytes:
    """UTF-8 JSON: the event, the delivery key (report_mail.delivery_key), the municipality and
    the whole revision."""
    payload = {
        "event": EVENT,
        "delivery": delivery,
        "municipality": {"id": record.municipality, "name": name, "region": region},
        "month": record.month,
        "revision": record.revision,
        "indicators": record.model_dump(mode="json"),
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


def signature(key: bytes, timestamp: int, content: bytes) -> str:
    digest = hmac.new(key, str(timestamp).encode() + b"." + content, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def headers(key: bytes, timestamp: int, content: bytes, delivery: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: signature(key, timestamp, content),
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery,
    }
