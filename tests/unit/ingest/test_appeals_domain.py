"""The pure core of the appeal channels: records and e-mails to RawMessage, clear errors."""

from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.domain.appeals import MAX_TEXT_CHARS, InvalidAppealError, normalise_appeal, parse_moment
from ingest.domain.mail import email_record, html_to_text
from ingest.domain.sources import ImapConfig, Source
from kernel.contracts.messages import Attachment, Channel, SourceKind
from tests.factories import appeal_source

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
WEB = appeal_source(Channel.WEB, department="Приёмная")
IMPORT = WEB.model_copy(update={"id": "appeal:import", "channel": Channel.IMPORT})
EMAIL = WEB.model_copy(
    update={
        "id": "appeal:mail",
        "channel": Channel.EMAIL,
        "imap": ImapConfig(host="127.0.0.1", user="u", password="p"),
    }
)


def web(record: dict[str, Any], source: Source = WEB) -> Any:
    return normalise_appeal(record, source, received_at=NOW, zone=MOSCOW)


def test_web_appeal_keeps_personal_data_apart_and_takes_defaults_from_the_source() -> None:
    message = web(
        {
            "external_id": "A-17",
            "text": "  Нет воды\r\nуже три дня  ",
            "author": "Иван Петров",
            "contact": "ivan@example.org",
            "attachments": [{"name": "фото.jpg", "url": "https://portal.example/f/1"}],
        }
    )
    assert message.message_id == "appeal:web:appeal:portal:A-17"
    assert message.source_kind is SourceKind.APPEAL_WEB
    assert message.thread_key == "appeal:appeal:portal:A-17"
    assert message.text == "Нет воды\nуже три дня"
    assert message.author is not None
    assert (message.author.ref, message.author.name) == ("ivan@example.org", "Иван Петров")
    assert "Иван" not in message.text
    assert message.attachments == (
        Attachment(kind="file", name="фото.jpg", url="https://portal.example/f/1"),
    )
    assert (message.municipality, message.department) == ("testgrad", "Приёмная")
    assert message.created_at == NOW  # no date given: the time it was received


def test_same_external_id_gives_the_same_message_id_and_department_can_be_given() -> None:
    first = web({"external_id": 17, "text": "a"})
    again = web({"external_id": " 17 ", "text": "b", "department": "ЖКХ"})
    assert first.message_id == again.message_id
    assert again.department == "ЖКХ"
    assert first.author is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-09-01T10:30:00Z", datetime(2026, 9, 1, 10, 30, tzinfo=UTC)),
        ("2026-09-01 10:30", datetime(2026, 9, 1, 10, 30, tzinfo=MOSCOW)),
        ("01.09.2026 10:30", datetime(2026, 9, 1, 10, 30, tzinfo=MOSCOW)),
        ("01.09.2026 10:30:15", datetime(2026, 9, 1, 10, 30, 15, tzinfo=MOSCOW)),
        ("01.09.2026", datetime(2026, 9, 1, tzinfo=MOSCOW)),
        (datetime(2026, 9, 1, 10, 30), datetime(2026, 9, 1, 10, 30, tzinfo=MOSCOW)),
        (date(2026, 9, 1), datetime(2026, 9, 1, tzinfo=MOSCOW)),
    ],
)
def test_dates_are_timezone_aware_and_naive_ones_are_read_in_the_zone(
    value: object, expected: datetime
) -> None:
    message = web({"external_id": "1", "text": "t", "created_at": value}, IMPORT)
    assert message.created_at == expected
    assert message.created_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        ({"external_id": "1"}, "text", "пуст"),
        ({"external_id": "1", "text": "   \n "}, "text", "пуст"),
        ({"external_id": "1", "text": "a\x00b"}, "text", "NUL"),
        ({"external_id": "1", "text": "я" * (MAX_TEXT_CHARS + 1)}, "text", "длиннее"),
        ({"text": "t"}, "external_id", "номер"),
        ({"external_id": True, "text": "t"}, "external_id", "строка"),
        ({"external_id": "1", "text": "t", "created_at": "31.02.2026"}, "created_at", "дату"),
        ({"external_id": "1", "text": "t", "created_at": "вчера"}, "created_at", "ДД.ММ.ГГГГ"),
        ({"external_id": "1", "text": "t", "created_at": "01.01.1900"}, "created_at", "1900"),
        ({"external_id": "1", "text": "t", "created_at": "01.01.2027"}, "created_at", "будущем"),
        ({"external_id": "1", "text": "t", "created_at": 1788253200}, "created_at", "дата"),
        ({"external_id": "1", "text": "t", "attachments": "x"}, "attachments", "список"),
        (
            {"external_id": "1", "text": "t", "attachments": [{"url": "javascript:alert(1)"}]},
            "attachments.url",
            "http",
        ),
    ],
)
def test_invalid_appeals_name_the_field_and_say_why(
    record: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidAppealError) as raised:
        web(record)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert words in str(raised.value)


def test_an_imported_row_needs_a_date_and_a_record_must_be_a_mapping() -> None:
    with pytest.raises(InvalidAppealError, match="created_at: не указана дата"):
        web({"external_id": "1", "text": "t"}, IMPORT)
    with pytest.raises(InvalidAppealError, match="record"):
        normalise_appeal("text", WEB, received_at=NOW, zone=MOSCOW)


def mail(body: str = "Во дворе яма", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Иван Петров <ivan@example.org>"
    message["Subject"] = "Яма во дворе"
    message["Message-ID"] = "<m1@example.org>"
    message["Date"] = "Tue, 01 Sep 2026 10:00:00 +0300"
    for name, value in headers.items():
        del message[name.replace("_", "-")]
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def from_email(message: EmailMessage) -> Any:
    record = email_record(message.as_bytes(), received_at=NOW)
    return normalise_appeal(record, EMAIL, received_at=NOW, zone=MOSCOW)


def test_plain_text_email_becomes_a_message_with_sender_as_author() -> None:
    message = from_email(mail())
    assert message.message_id == "appeal:email:appeal:mail:m1@example.org"
    assert message.source_kind is SourceKind.APPEAL_EMAIL
    assert message.text == "Яма во дворе\n\nВо дворе яма"
    assert message.author is not None
    assert (message.author.name, message.author.contact) == ("Иван Петров", "ivan@example.org")
    assert message.created_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def test_html_only_email_is_made_plain_and_plain_text_is_preferred() -> None:
    html = mail()
    html.set_content("<html><style>p{}</style><p>Нет&nbsp;света</p><p>с утра</p></html>", "html")
    assert from_email(html).text == "Яма во дворе\n\nНет света\nс утра"
    both = mail("простой текст")
    both.add_alternative("<p>html-версия</p>", subtype="html")
    assert from_email(both).text.endswith("простой текст")


def test_attachments_are_recorded_by_name_and_not_stored_inline() -> None:
    message = mail()
    message.add_attachment(b"\x89PNG" + b"0" * 500, "image", "png", filename="яма.png")
    normalised = from_email(message)
    assert normalised.attachments == (Attachment(kind="file", name="яма.png"),)
    assert "PNG" not in normalised.text


def test_replies_keep_the_thread_and_an_email_without_id_gets_a_stable_one() -> None:
    reply = from_email(mail(Message_ID="<m2@x>", In_Reply_To="<m1@x>", References="<m0@x> <m1@x>"))
    assert reply.thread_key == "appeal:appeal:mail:m0@x"
    assert reply.reply_to == "appeal:email:appeal:mail:m1@x"
    anonymous = mail()
    del anonymous["Message-ID"]
    assert from_email(anonymous).message_id == from_email(anonymous).message_id
    assert from_email(anonymous).message_id.startswith("appeal:email:appeal:mail:sha256:")


@pytest.mark.parametrize("header", ["not a date", "Tue, 01 Sep 2099 10:00:00 +0300"])
def test_a_bad_or_future_email_date_falls_back_to_the_receipt_time(header: str) -> None:
    assert from_email(mail(Date=header)).created_at == NOW


def test_html_to_text_keeps_blocks_on_their_own_lines() -> None:
    assert html_to_text("<div>a<br>b</div><script>x()</script><li>c</li>") == "a\nb\nc"


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.datetimes()
    | st.dates()
    | st.datetimes(timezones=st.timezones()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ("external_id", "text", "created_at", "author", "contact", "department", "attachments")
fields = st.sampled_from((*FIELDS, "thread", "reply_to"))
records = st.dictionaries(fields | st.text(), values, max_size=9)


@settings(max_examples=300, deadline=None)
@given(record=records | st.text() | values, source=st.sampled_from([WEB, IMPORT, EMAIL]))
def test_garbage_records_raise_only_invalid_appeal_error(record: object, source: Source) -> None:
    try:
        message = normalise_appeal(record, source, received_at=NOW, zone=MOSCOW)
    except InvalidAppealError:
        return
    assert message.created_at.utcoffset() is not None
    assert message.text.strip()


HEADERS = ("From", "Date", "Message-ID", "Subject", "Content-Type", "Content-Transfer-Encoding")
header_lines = st.lists(
    st.tuples(
        st.sampled_from((*HEADERS, "References", "In-Reply-To", "Content-Disposition")),
        st.binary(max_size=60),
    ),
    max_size=8,
).map(lambda pairs: b"".join(name.encode() + b": " + value + b"\r\n" for name, value in pairs))
mails = st.builds(lambda head, body: head + b"\r\n" + body, header_lines, st.binary(max_size=200))


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=400) | st.text().map(lambda text: text.encode()) | mails)
def test_garbage_email_raises_only_invalid_appeal_error(raw: bytes) -> None:
    try:
        record = email_record(raw, received_at=NOW)
        normalise_appeal(record, EMAIL, received_at=NOW, zone=MOSCOW)
    except InvalidAppealError:
        return


def test_email_record_survives_header_garbage() -> None:
    raw = b"From: Ivan\x00 <<@@>>\r\nDate: 99 Foo 99999 99:99\r\nMessage-ID: <\x01>\r\n\r\nbody"
    record = email_record(raw, received_at=NOW)
    assert record["created_at"] is None
    assert str(record["external_id"]).startswith("sha256:")
    assert "\x00" not in str(record["author"])
    assert normalise_appeal(record, EMAIL, received_at=NOW, zone=MOSCOW).text == "body"


def strptime_reading(text: str) -> datetime | None:
    """What the day formats read with strptime alone (before the fast path): the reference."""
    for pattern in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


DAY_PARTS = st.one_of(st.integers(0, 99).map(str), st.integers(0, 9).map(lambda n: f"0{n}"))


@settings(max_examples=400, deadline=None)
@given(
    st.tuples(
        DAY_PARTS, DAY_PARTS, st.integers(1990, 2110).map(str),
        st.sampled_from(["", " ", "  ", "\t"]), DAY_PARTS, DAY_PARTS, DAY_PARTS,
        st.sampled_from(["date", "minutes", "seconds"]),
    )
)  # fmt: skip
def test_a_russian_date_reads_as_strptime_reads_it(parts: tuple[str, ...]) -> None:
    day, month, year, space, hour, minute, second, length = parts
    text = f"{day}.{month}.{year}"
    if length != "date":
        text += f"{space}{hour}:{minute}" + (f":{second}" if length == "seconds" else "")
    expected = strptime_reading(text)
    if expected is None or not 2000 <= expected.year <= 2100:
        with pytest.raises(InvalidAppealError):
            parse_moment(text, MOSCOW)
    else:
        assert parse_moment(text, MOSCOW) == expected.replace(tzinfo=MOSCOW)
