"""Accounts an admin can run (issue 19, point 2), on a real PostgreSQL: every change ends the
user's sessions at once where it must, the last admin stays, and each change is one audit row.
Then the same through `otklik users …`."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from kernel.clock import Clock
from kernel.db.engine import Database, open_database
from kernel.db.schema import audit_log
from services.auth import store
from services.auth.roles import Role
from services.auth.scopes import Scope, ScopeError
from services.cli import app as cli_app
from sla.policy_file import load_policy_file
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
LIFETIME = timedelta(hours=12)
Change = Callable[[AsyncConnection], Awaitable[object]]
POLICY = load_policy_file(None)  # the bundled one: severogorsk and zarechny in region demo


async def _users(db: Database, clock: Clock, *roles: tuple[str, Role]) -> dict[str, str]:
    """Adds the users and opens one session each: login -> session token."""
    tokens = {}
    async with db.transaction() as connection:
        for login, role in roles:
            user = await store.add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login
            )
            tokens[login] = await store.open_session(connection, user, clock(), LIFETIME)
    return tokens


async def _works(db: Database, clock: Clock, token: str) -> bool:
    async with db.engine.connect() as connection:
        return await store.session_user(connection, token, clock()) is not None


async def test_each_change_ends_the_sessions_at_once_and_is_audited(
    db: Database, clock: Clock
) -> None:
    by = store.Change("admin", clock())
    tokens = await _users(
        db, clock, ("admin", Role.ADMIN), ("anna", Role.MODERATOR), ("boris", Role.VIEWER),
        ("carl", Role.MODERATOR), ("dina", Role.MODERATOR),
    )  # fmt: skip
    async with db.engine.connect() as connection:
        listed = {a.login: a for a in await store.list_users(connection, clock())}
    assert listed["anna"].sessions == 1 and listed["anna"].origin == "local"
    assert not listed["anna"].disabled and listed["anna"].role is Role.MODERATOR

    changes: list[tuple[str, Change]] = [
        ("anna", lambda c: store.disable_user(c, "anna", by)),
        ("boris", lambda c: store.reset_password(c, "boris", "another long one", by)),
        ("carl", lambda c: store.set_role(c, "carl", Role.SUPERVISOR, by)),
        ("dina", lambda c: store.set_scope(c, "dina", Scope(frozenset({"zarechny"})), by, POLICY)),
        ("boris", lambda c: store.end_sessions(c, "boris", by)),
    ]
    for login, change in changes:  # times from the caller's clock (by.at)
        async with db.transaction() as connection:  # a session that works right before
            user = store.User(login, Role.VIEWER, login)
            tokens[login] = await store.open_session(connection, user, clock(), LIFETIME)
        assert await _works(db, clock, tokens[login])
        async with db.transaction() as connection:
            await change(connection)
        assert not await _works(db, clock, tokens[login]), login
    assert await _works(db, clock, tokens["admin"])  # nobody else's session ended

    assert await store.authenticate(db, "anna", PASSWORD) is None  # disabled
    async with db.transaction() as connection:
        assert await store.enable_user(connection, "anna", store.Change("root", clock()))
        assert not await store.enable_user(connection, "anna", by)  # already: nothing written
        assert not await store.set_role(connection, "carl", Role.SUPERVISOR, by)  # unchanged
    assert await store.authenticate(db, "anna", PASSWORD) is not None
    assert await store.authenticate(db, "boris", "another long one") is not None
    assert await store.authenticate(db, "boris", PASSWORD) is None

    async with db.engine.connect() as connection:
        entries = await store.audit_entries(connection)
        listed = {a.login: a for a in await store.list_users(connection, clock())}
    assert [(e.action, e.target) for e in reversed(entries)] == [
        ("disable", "anna"), ("set-password", "boris"), ("set-role", "carl"),
        ("set-scope", "dina"), ("logout", "boris"), ("enable", "anna"),
    ]  # fmt: skip
    assert [e.actor for e in entries] == ["root", "admin", "admin", "admin", "admin", "admin"]
    assert all(e.at == by.at for e in entries[1:]) and entries[0].at > by.at
    assert entries[2].details == {
        "from": {}, "to": {"municipalities": ["zarechny"]}, "sessions_ended": 2,
    }  # fmt: skip
    assert entries[3].details == {"from": "moderator", "to": "supervisor", "sessions_ended": 2}
    assert "another long one" not in str([e.details for e in entries])  # no secrets
    assert listed["carl"].role is Role.SUPERVISOR and listed["boris"].sessions == 0
    assert listed["dina"].scope == Scope(frozenset({"zarechny"}))
    assert listed["anna"].disabled is False and listed["admin"].sessions == 1


async def test_the_last_enabled_admin_can_be_neither_disabled_nor_demoted(
    db: Database, clock: Clock
) -> None:
    by = store.Change("cli:root", clock())
    await _users(db, clock, ("ada", Role.ADMIN), ("bob", Role.ADMIN), ("eve", Role.VIEWER))
    async with db.transaction() as connection:
        assert await store.disable_user(connection, "bob", by)  # ada is still there
    refusals: list[Change] = [
        lambda c: store.disable_user(c, "ada", by),
        lambda c: store.set_role(c, "ada", Role.SUPERVISOR, by),
    ]
    for refused in refusals:
        with pytest.raises(store.LastAdminError, match="последний действующий администратор"):
            async with db.transaction() as connection:
                await refused(connection)
    async with db.transaction() as connection:
        assert await store.set_role(connection, "eve", Role.ADMIN, by)
        assert await store.set_role(connection, "ada", Role.MODERATOR, by)  # eve is admin now
        assert not await store.disable_user(connection, "bob", by)  # already disabled
    with pytest.raises(store.UnknownUserError, match="Пользователя nobody нет"):
        async with db.transaction() as connection:
            await store.disable_user(connection, "nobody", by)
    async with db.engine.connect() as connection:
        actions = [e.action for e in await store.audit_entries(connection)]
    assert actions == ["set-role", "set-role", "disable"]  # refusals write nothing


async def test_a_scope_must_name_what_the_policy_knows(db: Database, clock: Clock) -> None:
    by = store.Change("admin", clock())
    await _users(db, clock, ("anna", Role.MODERATOR))
    bad = [
        (Scope(municipalities=frozenset({"atlantis"})), "неизвестный муниципалитет «atlantis»"),
        (Scope(regions=frozenset({"north"})), "неизвестный регион «north»; в политике SLA: demo"),
        (Scope(departments=frozenset({"Космос"})), "неизвестное подразделение «Космос»"),
    ]
    for scope, message in bad:
        with pytest.raises(ScopeError, match=message):
            async with db.transaction() as connection:
                await store.set_scope(connection, "anna", scope, by, POLICY)
        with pytest.raises(ScopeError, match=message):
            async with db.transaction() as connection:
                await store.add_user(
                    connection, login="new", password=PASSWORD, role=Role.VIEWER,
                    display_name="new", scope=scope, by=by, policy=POLICY,
                )  # fmt: skip
    good = Scope(regions=frozenset({"demo"}), departments=frozenset({"ЖКХ"}))
    async with db.transaction() as connection:
        await store.add_user(
            connection, login="new", password=PASSWORD, role=Role.VIEWER,
            display_name="Новый", scope=good, by=by, policy=POLICY,
        )  # fmt: skip
        assert not await store.set_scope(connection, "new", good, by, POLICY)  # unchanged
    async with db.engine.connect() as connection:
        entries = await store.audit_entries(connection)
        count = await connection.scalar(select(func.count()).select_from(audit_log))
    assert count == 1 and entries[0].action == "add" and entries[0].details == {
        "role": "viewer", "display_name": "Новый",
        "scope": {"regions": ["demo"], "departments": ["ЖКХ"]},
    }  # fmt: skip


def test_the_users_commands(settings_factory: SettingsFactory, database_url: str) -> None:
    env = {"OTKLIK_DATABASE_URL": database_url, "OTKLIK_DATA_DIR": str(settings_factory.tmp_path)}
    env["OTKLIK_CLOCK_OFFSET"] = str(settings_factory.clock.offset.total_seconds())

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(cli_app, ["users", *args], env=env, input=stdin)
        return result.exit_code, result.output

    assert run("add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    code, out = run(
        "add", "anna", "--name", "Анна", "--municipality", "severogorsk", "--department", "ЖКХ",
        "--actor", "ivanov", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0 and "муниципалитеты: severogorsk; подразделения: ЖКХ" in out, out
    code, out = run("add", "anna", "--password-stdin", stdin=PASSWORD + "\n")
    assert (code, out.strip()) == (2, "Пользователь anna уже существует")
    code, out = run("add", "x", "--region", "north", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "неизвестный регион «north»" in out
    code, out = run("add", "y", "--password-stdin", stdin="short\n")
    assert code == 2 and "не короче 10 символов" in out

    assert run("set-role", "anna", "supervisor")[0] == 0
    assert run("set-scope", "anna", "--region", "demo")[0] == 0
    code, out = run("set-scope", "anna", "--all", "--region", "demo")
    assert code == 2 and "либо --all" in out
    assert run("set-scope", "anna", "--all") == (0, "область anna: все муниципалитеты\n")
    assert run("set-password", "anna", "--password-stdin", stdin="a new long password\n")[0] == 0
    assert run("logout", "anna") == (0, "сессий anna завершено: 0\n")
    assert run("disable", "anna") == (0, "пользователь anna отключён\n")
    assert run("enable", "anna") == (0, "пользователь anna включён\n")
    for refused, message in (
        (("disable", "root"), "Нельзя отключить root: это последний действующий администратор"),
        (("set-role", "root", "viewer"), "Нельзя понизить роль root: это последний"),
        (("disable", "nobody"), "Пользователя nobody нет"),
        (("set-password", "nobody", "--password-stdin"), "Пользователя nobody нет"),
        (("set-scope", "anna", "--municipality", "atlantis"), "неизвестный муниципалитет"),
        (("set-role", "anna", "boss"), "неизвестная роль boss"),
    ):
        code, out = run(*refused, stdin=PASSWORD + "\n")
        assert code == 2 and message in out, (refused, out)

    code, out = run("list")
    lines = out.splitlines()
    assert lines[0].split() == [
        "логин", "роль", "имя", "область", "доступа", "вход", "состояние", "создан", "сессий",
    ]  # fmt: skip
    assert lines[1].split()[:3] == ["anna", "supervisor", "Анна"] and len(lines) == 3
    code, out = run("list", "--format", "json")
    listed = {row["login"]: row for row in json.loads(out)}
    assert listed["anna"]["scope"] == {} and listed["root"]["role"] == "admin"
    assert listed["anna"]["disabled"] is False and listed["anna"]["sessions"] == 0

    async def audit() -> list[store.AuditEntry]:
        database = open_database(settings_factory(database_url=database_url))
        async with database.engine.connect() as connection:
            entries = await store.audit_entries(connection)
        await database.close()
        return entries

    entries = list(reversed(asyncio.run(audit())))
    assert [e.action for e in entries] == [
        "add", "add", "set-role", "set-scope", "set-scope", "set-password", "logout", "disable",
        "enable",
    ]  # fmt: skip
    assert entries[1].actor == "cli:ivanov" and entries[0].actor.startswith("cli:")
    assert all(abs(e.at - settings_factory.clock()) < timedelta(minutes=5) for e in entries)
