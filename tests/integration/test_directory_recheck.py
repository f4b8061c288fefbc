"""A signed-in directory user is checked against the directory again (services/auth/recheck.py)
against a real OpenLDAP (tools/slapd.py) through the web app on a real PostgreSQL: taken out of
otklik's groups or deleted, they lose every session at the first request after
OTKLIK_LDAP_RECHECK_MINUTES (401, the page sends them to the sign-in form), the row is disabled
and audited; moved to the viewers, their next POST is 403; with the directory stopped, the last
grant lasts OTKLIK_LDAP_RECHECK_GRACE_MINUTES and then the requests are refused. Time moves on
the app's clock only (a clock the test steps)."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from ldap3 import Connection, Server
from sqlalchemy import func, select

from kernel.db.schema import audit_log, auth_sessions, incidents
from kernel.observability import Metrics
from services.web.app import create_app
from services.web.security import SESSION_COOKIE
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import classified, raw_message
from tests.integration.test_directory_signin import PASSWORD
from tests.integration.test_directory_signin import Directory as People
from tests.integration.test_directory_signin import Web as SignInWeb
from tests.integration.test_web_ui import form_token
from tools.slapd import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, SlapdServer, group_dn, person_dn

pytestmark = pytest.mark.integration
EVERY = timedelta(minutes=5)
GRACE = timedelta(minutes=15)


class SteppedClock:
    """The app's clock: stands at the test's moment until the test moves it on."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class Web(SignInWeb):
    """The sign-in tests' web app and directory people, with a clock the test steps."""

    clock: SteppedClock
    incident_id: str

    async def bearer(self, login: str) -> dict[str, str]:
        signed = await self.login(login)
        assert signed.status_code == 200, signed.text
        return {"Authorization": f"Bearer {signed.json()['token']}"}

    async def claim(self, headers: dict[str, str]) -> int:
        url = f"/api/incidents/{self.incident_id}/claim"
        return (await self.client.post(url, headers=headers)).status_code

    async def read(self, headers: dict[str, str]) -> int:
        return (await self.client.get("/api/incidents", headers=headers)).status_code

    async def sessions(self, login: str) -> int:
        async with self.context.db.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).where(auth_sessions.c.login == login)
            )
        return int(count or 0)

    async def last_details(self, login: str) -> dict[str, Any]:
        async with self.context.db.engine.connect() as connection:
            details = await connection.scalar(
                select(audit_log.c.details)
                .where(audit_log.c.target == login)
                .order_by(audit_log.c.id.desc())
                .limit(1)
            )
        return dict(details or {})


WebFactory = Callable[..., Any]


@pytest.fixture
async def web_factory(
    settings_factory: SettingsFactory,
    database_url: str,
    slapd_server: SlapdServer,
    tmp_path: Path,
    moment: datetime,
) -> AsyncIterator[WebFactory]:
    contexts: list[SlaContext] = []

    async def make(server: SlapdServer = slapd_server, **overrides: object) -> Web:
        tag = uuid.uuid4().hex[:8]
        grants = {"moderators": {"role": "moderator"}, "viewers": {"role": "viewer"}}
        for group in grants:
            server.add_group(f"{group}-{tag}", [])
        groups = tmp_path / f"groups-{tag}.yaml"
        groups.write_text(
            yaml.safe_dump({group_dn(f"{g}-{tag}"): grant for g, grant in grants.items()}),
            encoding="utf-8",
        )
        ldap: dict[str, object] = {
            "ldap_url": server.url,
            "ldap_user_dn_template": f"uid={{login}},{PEOPLE}",
            "ldap_bind_dn": ROOT_DN,  # the service account reads; the user's password is gone
            "ldap_bind_password_secret": "ldap-reader",
            "secrets": {"ldap-reader": ROOT_PASSWORD},
            "ldap_group_base": GROUPS,
            "ldap_groups_file": groups,
            "ldap_timeout_seconds": 1.0,
            "ldap_recheck_minutes": int(EVERY.total_seconds() // 60),
            "ldap_recheck_grace_minutes": int(GRACE.total_seconds() // 60),
        }
        settings = settings_factory(database_url=database_url, **{**ldap, **overrides})
        clock = SteppedClock(moment)
        context = await open_sla(settings, Metrics(), clock=clock)
        contexts.append(context)
        await context.service.on_classified(classified(raw_message(1)))
        async with context.db.engine.connect() as connection:
            incident_id = await connection.scalar(select(incidents.c.incident_id))
        transport = httpx.ASGITransport(app=create_app(context, settings))
        client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
        return Web(client, context, People(server, tag), clock, str(incident_id))

    yield make
    for context in contexts:
        await context.db.close()


@pytest.fixture
async def web(web_factory: WebFactory) -> Web:
    made: Web = await web_factory()
    return made


class Relay:
    """A TCP relay to slapd that the test can make silent: new connections are then accepted
    and never answered, as a hung directory does."""

    def __init__(self, target: SlapdServer) -> None:
        self.target = target
        self.silent = False
        self._held: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return f"ldap://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.silent:
            self._held.append(writer)
            return
        upstream = await asyncio.open_connection("127.0.0.1", self.target.port)
        await asyncio.gather(self._pipe(reader, upstream[1]), self._pipe(upstream[0], writer))

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()


async def page_session(web: Web, login: str) -> dict[str, str]:
    """The Cookie header of a browser's session of ``login``, from the sign-in form."""
    web.client.cookies.clear()
    page = await web.client.get("/login")
    form = {"login": login, "password": PASSWORD, "csrf_token": form_token(page.text)}
    assert (await web.client.post("/login", data=form)).status_code == 303
    cookie = f"{SESSION_COOKIE}={web.client.cookies[SESSION_COOKIE]}"
    web.client.cookies.clear()
    return {"Cookie": cookie}


async def test_out_of_every_group_loses_every_session_at_the_next_recheck(web: Web) -> None:
    olga = web.directory.person("olga")
    web.directory.members("moderators", olga)
    api = await web.bearer(olga)
    browser = await page_session(web, olga)
    assert await web.claim(api) == 200
    assert await web.sessions(olga) == 2

    web.directory.members("moderators")  # the admin takes her out of the group in the directory
    web.clock.advance(EVERY - timedelta(seconds=1))
    assert await web.read(api) == 200  # not asked again yet: the interval bounds the queries
    web.clock.advance(timedelta(seconds=1))
    assert await web.claim(api) == 401
    assert await web.sessions(olga) == 0
    queue = await web.client.get("/queue", headers=browser)
    assert (queue.status_code, queue.headers["location"]) == (303, "/login?next=/queue")
    assert (await web.row(olga)).disabled
    assert (await web.audit(olga))[-1] == ("ldap", "disable")
    assert await web.last_details(olga) == {"reason": "no-group", "sessions_ended": 2}

    web.directory.members(
        "viewers", olga
    )  # back in a group: the directory vouches again at sign-in
    again = await web.bearer(olga)
    assert await web.read(again) == 200
    assert not (await web.row(olga)).disabled
    assert (await web.audit(olga))[-3:] == [
        ("ldap", "disable"), ("ldap", "enable"), ("ldap", "set-role"),
    ]  # fmt: skip


async def test_moved_to_the_viewers_the_next_post_is_403(web: Web) -> None:
    olga = web.directory.person("olga")
    web.directory.members("moderators", olga)
    api = await web.bearer(olga)
    assert await web.claim(api) == 200

    web.directory.members("moderators")
    web.directory.members("viewers", olga)
    web.clock.advance(EVERY)
    assert await web.claim(api) == 403
    assert await web.read(api) == 200  # the same session, with the viewer's rights
    assert await web.sessions(olga) == 1
    assert (await web.row(olga)).role == "viewer"
    assert (await web.audit(olga))[-1] == ("ldap", "set-role")
    assert await web.last_details(olga) == {
        "from": "moderator",
        "to": "viewer",
        "sessions_ended": 0,
    }


async def test_deleted_from_the_directory_is_signed_out(web_factory: WebFactory) -> None:
    web = await web_factory(ldap_user_dn_template=None, ldap_user_base=PEOPLE)
    olga = web.directory.person("olga")
    web.directory.members("moderators", olga)
    api = await web.bearer(olga)
    assert await web.read(api) == 200

    web.directory.members("moderators", web.directory.person("ivan"))  # the group keeps a member
    root = Connection(Server(web.directory.server.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True)
    assert root.delete(person_dn(olga)), root.result
    root.unbind()
    web.clock.advance(EVERY)
    assert await web.read(api) == 401
    assert await web.sessions(olga) == 0
    assert (await web.last_details(olga))["reason"] == "deleted"


async def test_a_stopped_directory_keeps_the_grant_for_the_grace_then_refuses(
    web_factory: WebFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    own = SlapdServer(tmp_path / "slapd")  # this test stops it
    own.start()
    try:
        web = await web_factory(server=own)
        olga = web.directory.person("olga")
        web.directory.members("moderators", olga)
        api = await web.bearer(olga)
    finally:
        own.stop()

    web.clock.advance(EVERY)  # the first re-check fails: the last grant is kept
    started = time.monotonic()
    assert await web.claim(api) == 200
    failed_in = time.monotonic() - started
    assert failed_in < 4  # within 4 × OTKLIK_LDAP_TIMEOUT_SECONDS
    assert "the last grant is kept" in caplog.text
    web.clock.advance(GRACE - timedelta(seconds=1))
    assert await web.read(api) == 200
    web.clock.advance(timedelta(seconds=1))  # GRACE after the first failure
    assert await web.read(api) == 401  # refused without asking (asked a second ago)
    web.clock.advance(EVERY)
    assert await web.read(api) == 401  # asked again, still silent
    assert "refused past the grace period" in caplog.text
    # Nothing is revoked on the directory's silence: the session and the row stay as they were.
    assert await web.sessions(olga) == 1
    assert not (await web.row(olga)).disabled


async def test_a_silent_directory_slows_one_request_per_interval_not_every_one(
    web_factory: WebFactory, slapd_server: SlapdServer
) -> None:
    relay = Relay(slapd_server)
    try:
        web = await web_factory(ldap_url=await relay.start())
        olga = web.directory.person("olga")
        web.directory.members("moderators", olga)
        api = await web.bearer(olga)

        relay.silent = True
        web.clock.advance(EVERY)
        started = time.monotonic()
        assert await web.read(api) == 200  # the re-check waits out the timeout, then the grace
        asking = time.monotonic() - started
        started = time.monotonic()
        for _ in range(20):
            assert await web.read(api) == 200
        after = (time.monotonic() - started) / 20
        print(f"silent directory: the asking request {asking:.2f} s, the next ones {after:.3f} s")
        assert 0.9 < asking < 4  # OTKLIK_LDAP_TIMEOUT_SECONDS=1, bounded at 4 of them
        assert after < asking / 10  # the failure is remembered until the next interval
    finally:
        await relay.close()
