"""The pure rules of re-checking a directory user (services/auth/domain/regrant.py): what the
directory's new answer does to the grant, AD's disabled flag, and when the directory is asked
again or its silence refuses the user."""

from datetime import UTC, datetime, timedelta

import pytest

from services.auth.domain.regrant import (
    GroupGrant,
    Keep,
    Rechecks,
    Regrant,
    Revoke,
    account_disabled,
    decide,
)
from services.auth.roles import Role
from services.auth.scopes import Scope

MODERATOR = GroupGrant(Role.MODERATOR, Scope(frozenset({"severogorsk"})))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_same_grant_is_kept() -> None:
    assert decide(MODERATOR, GroupGrant(Role.MODERATOR, Scope(frozenset({"severogorsk"})))) == (
        Keep()
    )


@pytest.mark.parametrize(
    "found",
    [
        GroupGrant(Role.VIEWER, MODERATOR.scope),  # moved to the viewers
        GroupGrant(Role.MODERATOR, Scope(frozenset({"zarechny"}))),  # another town
        GroupGrant(Role.SUPERVISOR, Scope()),  # promoted
    ],
)
def test_other_groups_regrant(found: GroupGrant) -> None:
    assert decide(MODERATOR, found) == Regrant(found)


@pytest.mark.parametrize("gone", ["deleted", "disabled", "no-group"])
def test_no_grant_revokes(gone: str) -> None:
    assert decide(MODERATOR, gone) == Revoke(gone)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "disabled"),
    [("514", True), (["514"], True), (2, True), ("512", False), (["66048"], False),
     (None, False), ([], False), ("garbage", False)],
)  # fmt: skip
def test_active_directory_disabled_flag(value: object, disabled: bool) -> None:
    assert account_disabled(value) is disabled


def test_asked_at_most_once_per_interval() -> None:
    rechecks = Rechecks(every=timedelta(minutes=5), grace=timedelta(minutes=15))
    assert rechecks.due("olga", T0)  # never asked in this process
    rechecks.answered("olga", T0)
    assert not rechecks.due("olga", T0 + timedelta(minutes=4, seconds=59))
    assert rechecks.due("olga", T0 + timedelta(minutes=5))
    assert rechecks.due("ivan", T0)  # per user


def test_silence_keeps_the_grant_for_the_grace_then_refuses_until_an_answer() -> None:
    rechecks = Rechecks(every=timedelta(minutes=5), grace=timedelta(minutes=15))
    rechecks.answered("olga", T0)
    for minutes in (5, 10):
        at = T0 + timedelta(minutes=minutes)
        rechecks.asking("olga", at)
        rechecks.failed("olga", at)
        assert rechecks.allowed("olga", at)
    late = T0 + timedelta(minutes=20)  # 15 minutes after the first failure
    rechecks.asking("olga", late)
    rechecks.failed("olga", late)
    assert not rechecks.allowed("olga", late)
    assert not rechecks.allowed("olga", late + timedelta(minutes=1))  # not asked meanwhile
    assert not rechecks.due("olga", late + timedelta(minutes=1))
    rechecks.answered("olga", late + timedelta(minutes=5))
    assert rechecks.allowed("olga", late + timedelta(minutes=5))


def test_no_grace_refuses_at_the_first_silence() -> None:
    rechecks = Rechecks(every=timedelta(minutes=5), grace=timedelta(0))
    rechecks.failed("olga", T0)
    assert not rechecks.allowed("olga", T0)
