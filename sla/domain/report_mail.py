"""The monthly report e-mail without the sending: who receives a municipality's report (the
delivery file: e-mail addresses and webhook URLs per municipality and per region of the SLA
policy), and what the message says (a subject, a short summary, a stable Message-ID)."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from kernel.contracts.indicators import IndicatorRecord

# Enough to catch a typo or a pasted name; the mail server is the judge of the rest.
ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_MONTHS = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip


class RecipientsError(ValueError):
    """The delivery file is wrong; the message (Russian) says where."""


@dataclass(frozen=True)
class Recipients:
    """Addresses per municipality: its own and its region's, each once, in the file's order."""

    by_municipality: Mapping[str, tuple[str, ...]]

    def of(self, municipality: str) -> tuple[str, ...]:
        return self.by_municipality.get(municipality, ())


NOBODY = Recipients({})


def parse_recipients(value: object, regions: Mapping[str, str | None]) -> Recipients:
    """``{municipalities: {id: [address]}, regions: {id: [address]}}`` checked against the
    policy (``regions``: each municipality's region)."""
    if value is None:
        return NOBODY
    if not isinstance(value, dict):
        raise RecipientsError("нужен словарь с ключами municipalities и regions")
    unknown_keys = set(value) - {"municipalities", "regions"}
    if unknown_keys:
        raise RecipientsError(
            f"неизвестные ключи: {', '.join(sorted(map(str, unknown_keys)))} "
            "(допустимы municipalities и regions)"
        )
    known_regions = {region for region in regions.values() if region is not None}
    own = _lists(value.get("municipalities"), "municipalities", set(regions), "муниципалитет")
    shared = _lists(value.get("regions"), "regions", known_regions, "регион")
    result: dict[str, tuple[str, ...]] = {}
    for municipality, region in regions.items():
        both = own.get(municipality, ()) + (shared.get(region, ()) if region else ())
        if both:
            result[municipality] = tuple(dict.fromkeys(both))
    return Recipients(result)


def _lists(value: object, key: str, known: set[str], what: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecipientsError(f"{key}: нужен словарь {what} → список адресов")
    result = {}
    for name, addresses in value.items():
        if str(name) not in known:
            listed = ", ".join(sorted(known)) or "нет ни одного"
            raise RecipientsError(
                f"{key}: {what} {name!r} не описан в политике SLA (известные: {listed})"
            )
        if not isinstance(addresses, list) or not addresses:
            raise RecipientsError(f"{key}.{name}: нужен непустой список адресов")
        for address in addresses:
            if not isinstance(address, str) or not (
                ADDRESS.match(address) or _webhook_url(address)
            ):
                raise RecipientsError(
                    f"{key}.{name}: {address!r} не похож ни на адрес e-mail, "
                    "ни на адрес вебхука (https://…)"
                )
        result[str(name)] = tuple(addresses)
    return result


WEBHOOK_PREFIXES = ("https://", "http://")


def is_webhook(recipient: str) -> bool:
    """A recipient is a webhook URL or an e-mail address (the file was checked on loading)."""
    return recipient.startswith(WEBHOOK_PREFIXES)


def _webhook_url(value: str) -> bool:
    if not is_webhook(value) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return False
    return bool(parts.hostname)


def recipient_label(recipient: str) -> str:
    """What the delivery log shows: a webhook URL without its query and credentials, which may
    hold a token of the receiving system."""
    if not is_webhook(recipient):
        return recipient
    parts = urlsplit(recipient)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year} г."


def subject(record: IndicatorRecord, name: str) -> str:
    late = f", уточнение (ревизия {record.revision})" if record.revision > 1 else ""
    return f"Показатели обратной связи: {name}, {month_label(record.month)}{late}"


def summary(record: IndicatorRecord, name: str, period_label: str) -> str:
    """The body: the month's numbers in a few lines; the attachments hold the report."""
    lines = [
        "Здравствуйте!",
        "",
        f"Итоги месяца по муниципалитету «{name}»: {month_label(record.month)}, "
        f"ревизия {record.revision} (рассчитано {record.computed_at:%d.%m.%Y %H:%M} UTC).",
        "",
        f"A_2 (доля обработанных в срок с учётом k_об): {_number(record.a2)}",
        f"Отработано в срок: {record.n_handled_on_time} из {record.n_assigned}",
        f"Доля обработанных сообщений: {_percent(record.share_processed)}",
        f"Доля негативных сообщений: {_percent(record.share_negative)}",
        f"Сообщений за месяц: {record.n_messages}",
        "",
        f"Во вложении отчёт план/факт за {period_label} (XLSX для печати и PDF).",
        "Письмо отправлено автоматически системой «Отклик»; отвечать на него не нужно.",
    ]
    return "\n".join(lines) + "\n"


def delivery_key(record: IndicatorRecord, recipient: str) -> str:
    """The same for every attempt of one delivery: a resend after a crash between the receiver's
    accept and the mark carries the same key, by which the receiver can drop it."""
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:16]
    return f"report.{record.municipality}.{record.month}.r{record.revision}.{digest}"


def message_id(record: IndicatorRecord, recipient: str, domain: str) -> str:
    """The delivery's key as a Message-ID, which mail clients show once."""
    return f"<{delivery_key(record, recipient)}@{domain}>"


def _number(value: float | None) -> str:
    return "нет данных" if value is None else f"{value:.3f}".replace(".", ",")


def _percent(value: float | None) -> str:
    return "нет данных" if value is None else f"{value:.1f} %".replace(".", ",")
