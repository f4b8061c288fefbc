"""Normalisation of appeals (web form, e-mail, a row of an imported list) to RawMessage. Pure.
(An e-mail becomes such a record in ``mail.py``.)

An appeal arrives as a record, a mapping of field -> value: ``external_id`` (required, the
channel's own id: the portal's appeal number, the e-mail's Message-ID, the list's number column),
``text`` (required), ``created_at``, ``author``, ``contact``, ``department``, ``attachments``
(a list of ``{name, url}``) and, for e-mail threads, ``thread`` and ``reply_to`` (external ids).
The message id is built from the source and the external id, so a client's retry, a re-import or
a re-poll of the mailbox maps to the same message and is upserted downstream.

``department`` is kept only if otklik knows it (one the categories route to, or the source's own):
it becomes a metric label and is pasted into canned replies offered for publishing in VK, so a
form's free text (30 appeals had made 1,320 new metric series) goes to the source's default.

Personal data (author name, contact) goes to ``Author``, never into the text, so that it can be
redacted on request. Anything that cannot become a message raises ``InvalidAppealError`` naming the
field, in Russian for the operator and in English for the log.
"""

import contextlib
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo

from ingest.domain.sources import Source
from kernel.contracts.categories import DEPARTMENTS
from kernel.contracts.messages import (
    Attachment,
    Author,
    Channel,
    RawMessage,
    SourceKind,
    appeal_message_id,
)

DEFAULT_ZONE = "Europe/Moscow"
MAX_TEXT_CHARS = 20_000
MAX_ID_CHARS = 200
_MAX_ID_BITS = 4 * MAX_ID_CHARS  # an integer of more bits has more than MAX_ID_CHARS digits
MAX_FIELD_CHARS = 500
MAX_URL_CHARS = 2_000
MAX_ATTACHMENTS = 50
# Dates outside these bounds are typos ("2062", "1926") or another system's placeholder; the
# bounds also keep time-zone arithmetic on them far from datetime's limits.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
# A date up to a day ahead is clock skew or a time zone mix-up; further ahead it is an error.
FUTURE_TOLERANCE = timedelta(days=1)
_DAY_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")
# What those formats read, as one pattern: strptime is a third of an import's CPU, this a tenth
# of it (as strptime: one or two digits but for the year, any whitespace before the time).
_DAY_TEXT = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?", re.ASCII
)
_BLANK_RUNS = re.compile(r"\n{3,}")
_KINDS = {
    Channel.WEB: SourceKind.APPEAL_WEB,
    Channel.EMAIL: SourceKind.APPEAL_EMAIL,
    Channel.IMPORT: SourceKind.APPEAL_IMPORT,
}


class InvalidAppealError(ValueError):
    """The appeal cannot become a message; ``field`` names the culprit, the text says why."""

    def __init__(self, field: str, ru: str, en: str) -> None:
        super().__init__(f"{field}: {ru} ({en})")
        self.field, self.ru, self.en = field, ru, en


def normalise_appeal(
    record: object, source: Source, *, received_at: datetime, zone: tzinfo
) -> RawMessage:
    """The message of one appeal; naive dates are read in ``zone`` (the source's local time).

    ``created_at`` may be omitted for the web and e-mail channels (the time it was received is
    used) but not in an imported list: its date decides the month the appeal counts in.
    """
    if not isinstance(record, Mapping):
        raise InvalidAppealError("record", "обращение должно быть объектом", "not a mapping")
    channel = _channel(source)
    external_id = _external_id(record.get("external_id"))
    thread = _identifier(record.get("thread"), "thread") or external_id
    reply_to = _identifier(record.get("reply_to"), "reply_to")
    department, _ = department_of(record, source)
    return RawMessage(
        message_id=appeal_message_id(channel, source.id, external_id),
        source_kind=_KINDS[channel],
        channel=channel,
        source_id=source.id,
        thread_key=f"appeal:{source.id}:{thread}",
        reply_to=appeal_message_id(channel, source.id, reply_to) if reply_to else None,
        author=_author(record),
        text=_text(record.get("text")),
        attachments=_attachments(record.get("attachments")),
        created_at=_created_at(record.get("created_at"), channel, received_at, zone),
        municipality=source.municipality,
        department=department,
        received_at=received_at,
    )


def department_of(record: Mapping[str, object], source: Source) -> tuple[str | None, str | None]:
    """The department the appeal goes to, and the one it named if otklik does not know it.

    Known: a department the categories route to or the source's own, compared without case
    ("жкх" is ЖКХ, written as the known one); anything else gives the source's default."""
    given = _string(record.get("department"), "department", MAX_FIELD_CHARS)
    if given is None:
        return source.department, None
    known = {name.casefold(): name for name in (*DEPARTMENTS.values(), source.department) if name}
    found = known.get(given.casefold())
    return (found, None) if found is not None else (source.department, given)


def parse_moment(value: object, zone: tzinfo, field: str = "created_at") -> datetime:
    """An aware datetime from a datetime, a date, ISO 8601 or ``dd.mm.yyyy[ HH:MM[:SS]]``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str) and len(value) <= 64:
        moment = _parse_date_text(value.strip(), field)
    else:
        raise InvalidAppealError(field, "ожидается дата", "not a date")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise InvalidAppealError(field, f"год {moment.year} вне диапазона", "year out of range")
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=zone)


def _parse_date_text(text: str, field: str) -> datetime:
    found = _DAY_TEXT.fullmatch(text)
    if found is not None:
        day, month, year, hour, minute, second = (int(part or 0) for part in found.groups())
        with contextlib.suppress(ValueError):  # 31.02: the formats below refuse it alike
            return datetime(year, month, day, hour, minute, second)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for pattern in _DAY_FORMATS:
        try:
            return datetime.strptime(text, pattern)  # naive: the caller applies the zone
        except ValueError:
            continue
    raise InvalidAppealError(
        field,
        f"не удалось прочитать дату {text[:40]!r}, ожидается ДД.ММ.ГГГГ [ЧЧ:ММ] или ISO 8601",
        "expected dd.mm.yyyy [HH:MM] or ISO 8601",
    )


def _created_at(value: object, channel: Channel, received_at: datetime, zone: tzinfo) -> datetime:
    if value is None or (isinstance(value, str) and not value.strip()):
        if channel is Channel.IMPORT:
            raise InvalidAppealError("created_at", "не указана дата обращения", "date is missing")
        return received_at
    moment = parse_moment(value, zone)
    if moment > received_at + FUTURE_TOLERANCE:
        raise InvalidAppealError("created_at", "дата обращения в будущем", "date in the future")
    return moment


def _channel(source: Source) -> Channel:
    if source.kind != "appeal" or source.channel not in _KINDS:
        raise InvalidAppealError("source", "не канал обращений", "not an appeal channel")
    return source.channel


def _string(value: object, field: str, limit: int) -> str | None:
    """A stripped string, or None for an absent or blank value."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidAppealError(field, "ожидается строка", "must be a string")
    if "\x00" in value:
        raise InvalidAppealError(field, "содержит нулевой байт (NUL)", "contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidAppealError(field, "недопустимые символы", "unpaired surrogates") from error
    stripped = value.strip()
    if len(stripped) > limit:
        raise InvalidAppealError(field, f"длиннее {limit} символов", f"over {limit} characters")
    return stripped or None


def _identifier(value: object, field: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _MAX_ID_BITS:  # str() refuses ints over 4,300 digits
            raise InvalidAppealError(field, f"длиннее {MAX_ID_CHARS} символов", "too many digits")
        value = str(value)
    found = _string(value, field, MAX_ID_CHARS)
    if found is not None and any(ord(char) < 32 for char in found):
        raise InvalidAppealError(field, "управляющие символы в номере", "control characters")
    return found


def _external_id(value: object) -> str:
    found = _identifier(value, "external_id")
    if found is None:
        raise InvalidAppealError("external_id", "не указан номер обращения", "id is missing")
    return found


def _text(value: object) -> str:
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _string(value, "text", MAX_TEXT_CHARS)
    if text is None:
        raise InvalidAppealError("text", "текст обращения пуст", "text is missing or empty")
    return _BLANK_RUNS.sub("\n\n", text)


def _author(record: Mapping[object, object]) -> Author | None:
    name = _string(record.get("author"), "author", MAX_FIELD_CHARS)
    contact = _string(record.get("contact"), "contact", MAX_FIELD_CHARS)
    if contact is not None:
        return Author(ref=contact, name=name, contact=contact)
    return Author(ref=name, name=name) if name is not None else None


def _attachments(value: object) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidAppealError("attachments", "ожидается список", "must be a list")
    if len(value) > MAX_ATTACHMENTS:
        raise InvalidAppealError("attachments", "слишком много вложений", "too many items")
    return tuple(_attachment(item) for item in value)


def _attachment(item: object) -> Attachment:
    if not isinstance(item, Mapping):
        raise InvalidAppealError("attachments", "вложение — объект {name, url}", "not an object")
    name = _string(item.get("name"), "attachments.name", MAX_FIELD_CHARS)
    url = _string(item.get("url"), "attachments.url", MAX_URL_CHARS)
    if url is not None and not url.lower().startswith(("https://", "http://")):
        raise InvalidAppealError("attachments.url", "ссылка должна быть http(s)", "not http(s)")
    if name is None and url is None:
        raise InvalidAppealError("attachments", "у вложения нет ни имени, ни ссылки", "empty")
    return Attachment(kind="file", name=name, url=url)
