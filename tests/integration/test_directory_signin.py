"""Sign-in through the city's directory against a real OpenLDAP (Debian's slapd, started by the
session: tests/conftest.py, tools/slapd.py), over HTTP on a real PostgreSQL: the directory's
password signs in through POST /api/login and the form, role and scope come from the groups and
follow them at the next sign-in, a user in no otklik group is refused, a wrong password, a
directory down or silent are a 401 (never a 500) and a disabled row or a local account of the
same login win over the directory."""

import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from kernel.db.schema import audit_log, users
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import Change, add_user, disable_user
from services.web.app import create_app
from services.web.login_limit import FREE_FAILURES
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.integration.test_web_ui import form_token
from tools.kafka import free_port
from tools.slapd import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, SlapdServer, group_dn

pytestmark = pytest.mark.integration
PASSWORD = "directory password 1"
LOCAL_PASSWORD = "local password 12"


@dataclass
class Directory:
    """One test's people and groups in the session's slapd (names made unique)."""

    server: SlapdServer
    tag: str

    def name(self, base: str) -> str:
        return f"{base}-{self.tag}"

    def person(self, base: str, password: str = PASSWORD) -> str:
        login = self.name(base)
        self.server.add_person(login, password, f"Ольга {base.title()}")
        return login

    def groups_file(self, path: Path) -> Path:
        severogorsk = {"municipalities": ["severogorsk"]}
        grants = {
            "moderators-severogorsk": {"role": "moderator", "scope": severogorsk},
            "viewers-zarechny": {"role": "viewer", "scope": {"municipalities": ["zarechny"]}},
            "supervisors": {"role": "supervisor"},
        }  # fmt: skip
        for group in grants:
            self.server.add_group(self.name(group), [])
        path.write_text(
            yaml.safe_dump({group_dn(self.name(g)): grant for g, grant in grants.items()}),
            encoding="utf-8",
        )
        return path

    def members(self, group: str, *logins: str) -> None:
        self.server.set_members(self.name(group), list(logins))


@dataclass
class Web:
    client: httpx.AsyncClient
    context: SlaContext
    directory: Directory

    async def login(self, login: str, password: str = PASSWORD) -> httpx.Response:
        self.client.cookies.clear()
        return await self.client.post("/api/login", json={"login": login, "password": password})

    async def row(self, login: str) -> Any:
        async with self.context.db.engine.connect() as connection:
            return (await connection.execute(select(users).where(users.c.login == login))).first()

    async def audit(self, login: str) -> list[tuple[str, str]]:
        async with self.context.db.engine.connect() as connection:
            rows = await connection.execute(
                select(audit_log.c.actor, audit_log.c.action)
                .where(audit_log.c.target == login)
                .order_by(audit_log.c.id)
            )
            return [(row.actor, row.action) for row in rows]


WebFactory = Callable[..., Any]


@pytest.fixture
async def web_factory(
    settings_factory: SettingsFactory,
    database_url: str,
    slapd_server: SlapdServer,
    tmp_path: Path,
) -> AsyncIterator[WebFactory]:
    directory = Directory(slapd_server, uuid.uuid4().hex[:8])
    groups = directory.groups_file(tmp_path / "groups.yaml")
    contexts: list[SlaContext] = []

    async def make(**overrides: object) -> Web:
        ldap: dict[str, object] = {
            "ldap_url": slapd_server.url,
            "ldap_user_dn_template": f"uid={{login}},{PEOPLE}",
            "ldap_group_base": GROUPS,
            "ldap_groups_file": groups,
            "ldap_timeout_seconds": 1.0,
        }
        settings = settings_factory(database_url=database_url, **{**ldap, **overrides})
        context = await open_sla(settings, Metrics())
        contexts.append(context)
        transport = httpx.ASGITransport(app=create_app(context, settings))
        client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
        return Web(client, context, directory)

    yield make
    for context in contexts:
        await context.db.close()


@pytest.fixture
async def web(web_factory: WebFactory) -> Web:
    made: Web = await web_factory()
    return made


async def test_a_directory_user_signs_in_with_role_and_scope_from_groups(web: Web) -> None:
    olga = web.directory.person("olga")
    web.directory.members("moderators-severogorsk", olga)
    web.directory.members("viewers-zarechny", olga)

    response = await web.login(olga)
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["display_name"]) == ("moderator", "Ольга Olga")
    me = await web.client.get(
        "/api/me", headers={"Authorization": f"Bearer {response.json()['token']}"}
    )
    assert me.json()["scope"] == {"municipalities": ["severogorsk", "zarechny"]}
    row = await web.row(olga)
    assert (row.origin, row.password_hash, row.disabled) == ("ldap", None, False)
    assert await web.audit(olga) == [("ldap", "add")]

    web.client.cookies.clear()
    page = await web.client.get("/login")
    form = {
        "login": olga,
        "password": PASSWORD,
        "csrf_token": form_token(page.text),
        "next": "/queue",
    }
    signed = await web.client.post("/login", data=form)
    assert (signed.status_code, signed.headers["location"]) == (303, "/queue")
    assert (await web.client.get("/queue")).status_code == 200
    assert await web.audit(olga) == [("ldap", "add")]  # nothing changed: nothing audited


async def test_a_group_change_applies_at_the_next_sign_in(web: Web) -> None:
    olga = web.directory.person("olga")
    web.directory.members("viewers-zarechny", olga)
    first = await web.login(olga)
    assert first.json()["role"] == "viewer"
    old = {"Authorization": f"Bearer {first.json()['token']}"}

    web.directory.members("supervisors", olga)
    second = await web.login(olga)
    assert second.json()["role"] == "supervisor"
    new = {"Authorization": f"Bearer {second.json()['token']}"}
    assert (await web.client.get("/api/me", headers=new)).json()["scope"] == {}
    assert (await web.client.get("/api/me", headers=old)).status_code == 401  # old rights ended
    assert await web.audit(olga) == [("ldap", "add"), ("ldap", "set-role"), ("ldap", "set-scope")]

    web.directory.members("supervisors")
    web.directory.members("viewers-zarechny")
    refused = await web.login(olga)
    assert refused.status_code == 401
    assert "не входит ни в одну группу otklik" in refused.json()["detail"]

    web.client.cookies.clear()
    page = await web.client.get("/login")
    form = {"login": olga, "password": PASSWORD, "csrf_token": form_token(page.text)}
    on_the_form = await web.client.post("/login", data=form)
    assert on_the_form.status_code == 401
    assert "не входит ни в одну группу otklik" in on_the_form.text


async def test_a_wrong_password_or_an_unknown_login_is_refused(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    olga = web.directory.person("olga")
    web.directory.members("supervisors", olga)
    wrong = await web.login(olga, "not her password")
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "Неверный логин или пароль")
    assert (await web.login(web.directory.name("nobody"))).status_code == 401
    assert (await web.login(olga, "")).status_code == 422  # never an anonymous bind
    assert await web.row(olga) is None
    assert "invalidCredentials" in caplog.text
    assert "not her password" not in caplog.text and PASSWORD not in caplog.text


async def test_a_directory_down_or_silent_is_a_401_within_the_timeout(
    web_factory: WebFactory, caplog: pytest.LogCaptureFixture
) -> None:
    down = await web_factory(ldap_url=f"ldap://127.0.0.1:{free_port()}")
    started = time.monotonic()
    assert (await down.login("olga")).status_code == 401
    assert time.monotonic() - started < 3

    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = await web_factory(ldap_url=f"ldap://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        assert (await mute.login("olga")).status_code == 401
        assert time.monotonic() - started < 5  # 1 s timeout per step
    assert "unreachable or broken" in caplog.text and PASSWORD not in caplog.text


async def test_the_throttle_applies_to_directory_sign_ins(web: Web) -> None:
    olga = web.directory.person("olga")
    web.directory.members("supervisors", olga)
    for _ in range(FREE_FAILURES + 1):
        assert (await web.login(olga, "wrong password")).status_code == 401
    blocked = await web.login(olga, PASSWORD)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers


async def test_a_disabled_row_blocks_a_directory_user(web: Web, clock: Any) -> None:
    olga = web.directory.person("olga")
    web.directory.members("supervisors", olga)
    assert (await web.login(olga)).status_code == 200
    async with web.context.db.transaction() as connection:
        await disable_user(connection, olga, Change("cli:test", clock()))
    assert (await web.login(olga)).status_code == 401
    assert (await web.row(olga)).disabled


async def test_local_accounts_keep_working_and_cannot_be_taken_over(web: Web) -> None:
    ivan = web.directory.person("ivan")  # the same login in the directory …
    web.directory.members("supervisors", ivan)
    async with web.context.db.transaction() as connection:  # … and here, a local viewer
        await add_user(
            connection, login=ivan, password=LOCAL_PASSWORD, role=Role.VIEWER, display_name="Иван"
        )
    assert (await web.login(ivan, PASSWORD)).status_code == 401  # the directory is not asked
    local = await web.login(ivan, LOCAL_PASSWORD)
    assert (local.status_code, local.json()["role"]) == (200, "viewer")
    row = await web.row(ivan)
    assert (row.origin, row.role) == ("local", "viewer")


async def test_a_service_account_finds_the_user(web_factory: WebFactory) -> None:
    web = await web_factory(
        ldap_user_dn_template=None,
        ldap_user_base=PEOPLE,
        ldap_bind_dn=ROOT_DN,
        ldap_bind_password_secret="ldap-reader",
        secrets={"ldap-reader": ROOT_PASSWORD},
    )
    olga = web.directory.person("olga")
    web.directory.members("moderators-severogorsk", olga)
    response = await web.login(olga)
    assert (response.status_code, response.json()["role"]) == (200, "moderator")
    assert (await web.login("*")).status_code == 401  # a filter character is only a character
