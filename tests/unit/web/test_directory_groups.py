"""The directory's groups file and how several groups combine (pure; the sign-in itself runs
against a real slapd in tests/integration/test_directory_signin.py)."""

from pathlib import Path

import pytest

from services.auth.directory import DirectoryConfigError, combine, load_groups
from services.auth.domain.regrant import GroupGrant
from services.auth.roles import Role
from services.auth.scopes import Scope


def grant(role: Role, **scope: list[str]) -> GroupGrant:
    return GroupGrant(role, Scope.from_json(scope))


def test_the_highest_role_and_the_union_of_the_scopes() -> None:
    combined = combine(
        [
            grant(Role.VIEWER, municipalities=["zarechny"]),
            grant(Role.MODERATOR, regions=["demo"], departments=["ЖКХ"]),
        ]
    )
    assert combined == grant(
        Role.MODERATOR, municipalities=["zarechny"], regions=["demo"]
    )  # the viewer's group has no department limit: none is left


def test_a_group_without_a_limit_lifts_it_and_no_group_is_none() -> None:
    combined = combine(
        [
            grant(Role.VIEWER, departments=["ЖКХ"]),
            grant(Role.VIEWER, municipalities=["zarechny"], departments=["Дороги"]),
        ]
    )
    assert combined == grant(Role.VIEWER, departments=["Дороги", "ЖКХ"])
    assert combine([]) is None


def test_the_groups_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        '"CN=Mods, OU=Groups,DC=city": {role: moderator, scope: {municipalities: [severogorsk]}}\n',
        encoding="utf-8",
    )
    assert load_groups(path) == {
        "cn=mods,ou=groups,dc=city": grant(Role.MODERATOR, municipalities=["severogorsk"])
    }
    for bad in ('"cn=x": {role: boss}', '"cn=x": {role: viewer, scope: {towns: [a]}}', "[]"):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(DirectoryConfigError):
            load_groups(path)
