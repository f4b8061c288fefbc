"""IMAP poller of an e-mail appeal channel.

Resumes by UID: the cursor (UIDVALIDITY and the last UID handled) lives in ``ingest_cursors`` and
is advanced after each mail is durably published or dead-lettered, so a crash re-reads at most
one mail, which maps to the same message id (built from its Message-ID) and is upserted
downstream. If the server's UIDVALIDITY changes, UIDs mean something else: the mailbox is read
again from the start, again without duplicates. The mailbox is opened read-only (EXAMINE): otklik
never marks, moves or deletes mail, so the mailbox stays the archive of the originals and their
attachments (recorded in the message by name only).

``imaplib`` is blocking: each call runs in a worker thread and a socket timeout bounds it.
"""

import asyncio
import imaplib
import logging
import random
import ssl
from collections.abc import Callable
from datetime import datetime, tzinfo

from pydantic import SecretStr

from ingest.domain.appeals import InvalidAppealError, normalise_appeal
from ingest.domain.mail import email_record
from ingest.domain.sources import ImapConfig, Source
from ingest.storage.cursors import CursorStore
from kernel.bus.delivery import make_dead_letter, send_dead_letter
from kernel.bus.port import Publisher
from kernel.contracts.topics import Topic
from kernel.observability import Metrics

log = logging.getLogger(__name__)

STAGE = "ingest"
SOCKET_TIMEOUT_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 300.0
# A dead letter travels through Kafka (1 MiB messages by default); a bigger mail is kept as its
# headers only: the original stays in the mailbox under the UID named in the reason.
MAX_DEAD_LETTER_BYTES = 512 * 1024


class ImapPoller:
    def __init__(
        self,
        source: Source,
        *,
        password: SecretStr,
        cursors: CursorStore,
        publisher: Publisher,
        metrics: Metrics,
        clock: Callable[[], datetime],
        zone: tzinfo,
    ) -> None:
        if source.imap is None:
            raise ValueError(f"{source.id}: no imap settings")
        self._source, self._config, self._password = source, source.imap, password
        self._cursors = cursors
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock
        self._zone = zone
        self.cursor_key = f"imap:{self._config.mailbox}"

    async def poll_once(self) -> int:
        """Publish every mail newer than the cursor; the number of messages published."""
        connection, uidvalidity = await asyncio.to_thread(_open, self._config, self._password)
        try:
            last = await self._last_uid(uidvalidity)
            uids = await asyncio.to_thread(_uids_after, connection, last)
            published = 0
            for uid in uids:
                raw = await asyncio.to_thread(_fetch, connection, uid)
                if raw is not None:  # None: expunged since the search
                    published += await self._ingest(uid, raw)
                cursor = {"uidvalidity": uidvalidity, "uid": uid}
                await self._cursors.put(self._source.id, self.cursor_key, cursor)
            return published
        finally:
            await asyncio.to_thread(_close, connection)

    async def run(self, interval_seconds: float) -> None:
        """Poll until cancelled; any failure (mail server, broker, database) is logged and
        retried with exponential backoff, because a poller that stops silently loses mail."""
        failures = 0
        while True:
            try:
                count = await self.poll_once()
            except Exception:
                failures += 1
                delay = min(MAX_BACKOFF_SECONDS, 2.0**failures) * (0.5 + random.random())  # noqa: S311
                log.exception("%s: polling failed, retrying in %.0fs", self._source.id, delay)
            else:
                failures = 0
                delay = interval_seconds
                if count:
                    log.info("%s: %d new mail(s) published", self._source.id, count)
            await asyncio.sleep(delay)

    async def _last_uid(self, uidvalidity: int) -> int:
        stored = await self._cursors.get(self._source.id, self.cursor_key)
        if not isinstance(stored, dict) or not isinstance(stored.get("uid"), int):
            return 0
        if stored.get("uidvalidity") != uidvalidity:
            log.warning("%s: UIDVALIDITY changed, reading the mailbox again", self._source.id)
            return 0
        return int(stored["uid"])

    async def _ingest(self, uid: int, raw: bytes) -> int:
        received_at = self._clock()
        try:
            record = email_record(raw, received_at=received_at)
            message = normalise_appeal(
                record, self._source, received_at=received_at, zone=self._zone
            )
        except InvalidAppealError as error:
            where = f"{self._source.id} {self._config.mailbox} UID {uid}"
            letter = make_dead_letter(STAGE, None, _kept(raw), f"{where}: {error}")
            await send_dead_letter(self._publisher, self._metrics, letter)
            return 0
        await self._publisher.publish(Topic.RAW_MESSAGES, message.thread_key, message)
        self._metrics.ingested.labels(source_kind=message.source_kind.value).inc()
        return 1


def _kept(raw: bytes) -> bytes:
    if len(raw) <= MAX_DEAD_LETTER_BYTES:
        return raw
    headers = raw.split(b"\r\n\r\n", 1)[0][:MAX_DEAD_LETTER_BYTES]
    return headers + f"\r\n\r\n[{len(raw)} bytes: body left in the mailbox]".encode()


def _open(config: ImapConfig, password: SecretStr) -> tuple[imaplib.IMAP4, int]:
    """A logged-in connection with the mailbox selected read-only, and its UIDVALIDITY."""
    if config.ssl:
        context = ssl.create_default_context()
        connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            config.host, config.port, ssl_context=context, timeout=SOCKET_TIMEOUT_SECONDS
        )
    else:
        connection = imaplib.IMAP4(config.host, config.port, timeout=SOCKET_TIMEOUT_SECONDS)
    try:
        connection.login(config.user, password.get_secret_value())
        status, _ = connection.select(_quoted(config.mailbox), readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open mailbox {config.mailbox!r}")
        _, data = connection.response("UIDVALIDITY")  # the [UIDVALIDITY n] code of SELECT
        value = data[-1] if data else None
        if not isinstance(value, bytes) or not value.strip().isdigit():
            raise imaplib.IMAP4.error(f"no UIDVALIDITY for {config.mailbox!r}")
        return connection, int(value)
    except BaseException:
        _close(connection)
        raise


def _uids_after(connection: imaplib.IMAP4, last: int) -> list[int]:
    status, data = connection.uid("SEARCH", f"UID {last + 1}:*")
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
    found = b" ".join(item for item in data if isinstance(item, bytes))
    # "n:*" always matches the newest mail, even when its UID is below n: filter.
    return sorted(uid for uid in map(int, found.split()) if uid > last)


def _fetch(connection: imaplib.IMAP4, uid: int) -> bytes | None:
    # BODY.PEEK leaves the \\Seen flag alone: reading is not handling.
    status, data = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH {uid} failed: {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _close(connection: imaplib.IMAP4) -> None:
    try:
        connection.logout()
    except (OSError, imaplib.IMAP4.error):
        log.debug("IMAP logout failed", exc_info=True)


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
