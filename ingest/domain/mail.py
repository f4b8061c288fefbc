"""An e-mail (RFC 5322 bytes) as an appeal record for ``normalise_appeal``. Pure.

Message-ID is the external id, References/In-Reply-To the thread, the sender the author, subject
and body the text (plain text preferred, else HTML made plain); attachments are recorded by name
only: their content stays in the mailbox.
"""

import hashlib
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.errors import MessageError
from email.message import EmailMessage
from email.policy import EmailPolicy
from html.parser import HTMLParser
from itertools import islice
from typing import Any, cast

from ingest.domain.appeals import (
    EARLIEST_YEAR,
    FUTURE_TOLERANCE,
    LATEST_YEAR,
    MAX_ATTACHMENTS,
    MAX_FIELD_CHARS,
    MAX_ID_CHARS,
    InvalidAppealError,
)

# What the e-mail package raises on malformed input; such a mail is dead-lettered whole.
# RecursionError: parts nested a thousand deep (message/rfc822 in message/rfc822 ...).
_MAIL_ERRORS = (ValueError, TypeError, LookupError, AttributeError, MessageError, RecursionError)
# The e-mail package's header parser takes time quadratic in a header's length (a 1 MB Subject:
# minutes) and memory beyond it for a run of encoded words, so only a header's start is parsed.
# Nothing kept needs more: the longest field read, the subject, is cut to 500 characters.
MAX_HEADER_CHARS = 16_000
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,200})>")


def email_record(raw: bytes, *, received_at: datetime) -> dict[str, object]:
    """The record of one e-mail (RFC 5322 bytes): Message-ID as the external id, the sender as
    author, subject and body as text (plain text preferred, else HTML made plain), and the
    attachments by name only: their content stays in the mailbox."""
    try:
        # EmailPolicy builds EmailMessage objects (its message_factory); typeshed cannot tell.
        message = cast(EmailMessage, message_from_bytes(raw, policy=_POLICY))
        return _email_fields(message, raw, received_at)
    except _MAIL_ERRORS as error:
        raise InvalidAppealError(
            "email", "письмо не удалось разобрать", f"unreadable e-mail: {error!r}"[:300]
        ) from error


class _CappedHeaders(EmailPolicy):
    """The default policy, reading at most ``MAX_HEADER_CHARS`` of each header."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if not hasattr(value, "name"):  # the raw text, not a header object already parsed
            value = value[:MAX_HEADER_CHARS]
        return super().header_fetch_parse(name, value)


_POLICY = _CappedHeaders()


def _email_fields(message: EmailMessage, raw: bytes, received_at: datetime) -> dict[str, object]:
    # Without a Message-ID the content itself is the id: a re-poll still maps to the same message.
    own_id = _message_id(message.get("Message-ID")) or f"sha256:{hashlib.sha256(raw).hexdigest()}"
    references = _MESSAGE_ID.findall(str(message.get("References") or ""))
    in_reply_to = _message_id(message.get("In-Reply-To"))
    name, address = _sender(message)
    subject = _header_text(message.get("Subject") or "") or ""
    return {
        "external_id": own_id,
        "thread": references[0] if references else (in_reply_to or own_id),
        "reply_to": in_reply_to,
        "author": name,
        "contact": address,
        "text": "\n\n".join(part for part in (subject, _body_text(message).strip()) if part),
        "created_at": _sent_at(message, received_at),
        "attachments": [{"name": name} for name in _attachment_names(message)],
    }


def _message_id(header: object) -> str | None:
    if header is None:
        return None
    found = _MESSAGE_ID.search(str(header))
    token = found.group(1) if found else str(header).strip()
    if not token or len(token) > MAX_ID_CHARS or any(ord(c) < 33 or ord(c) == 127 for c in token):
        return None
    return token


def _sender(message: EmailMessage) -> tuple[str | None, str | None]:
    addresses = getattr(message.get("From"), "addresses", ())
    if not addresses:
        return None, None
    return _header_text(addresses[0].display_name), _header_text(addresses[0].addr_spec)


def _header_text(value: object) -> str | None:
    """Header values are the mail system's, not the resident's words: control characters are
    dropped and length capped rather than rejecting the whole mail."""
    text = "".join(char for char in str(value) if ord(char) >= 32)
    return text.strip()[:MAX_FIELD_CHARS] or None


def _sent_at(message: EmailMessage, received_at: datetime) -> datetime | None:
    moment = getattr(message.get("Date"), "datetime", None)
    if not isinstance(moment, datetime):
        return None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)  # "-0000": UTC, sender's zone unknown (RFC 5322)
    # A sender's wrong clock is no reason to reject a resident's mail: the receipt time is used.
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR or moment > received_at + FUTURE_TOLERANCE:
        return None
    return moment


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset: decode as UTF-8 leniently
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def _attachment_names(message: EmailMessage) -> list[str]:
    names = []
    # Only the first ones are kept: reading the headers of thousands of parts takes seconds.
    for part in islice(message.iter_attachments(), MAX_ATTACHMENTS):
        name = part.get_filename() or part.get_content_type()
        names.append(name.replace("\x00", "")[:MAX_FIELD_CHARS])
    return names


class _PlainText(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre"})
    _BLOCKS |= {"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"}
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: one line per block, no blank lines, spaces collapsed."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
