"""Where a user works: the scope stored with the user, and what it covers."""

import pytest

from services.auth.scopes import Scope, ScopeError

REGIONS = {"north": ["severogorsk", "zarechny"], "south": ["yuzhny"]}


def members_of(region: str) -> list[str]:
    return REGIONS.get(region, [])


@pytest.mark.parametrize(
    ("stored", "municipality", "department", "covered"),
    [
        ({}, "anywhere", None, True),
        ({"municipalities": ["severogorsk"]}, "severogorsk", "ЖКХ", True),
        ({"municipalities": ["severogorsk"]}, "zarechny", "ЖКХ", False),
        ({"regions": ["north"]}, "zarechny", None, True),
        ({"regions": ["north"]}, "yuzhny", None, False),
        ({"regions": ["south"], "municipalities": ["zarechny"]}, "zarechny", None, True),
        ({"departments": ["ЖКХ"]}, "yuzhny", "ЖКХ", True),
        ({"departments": ["ЖКХ"]}, "yuzhny", "Транспорт", False),
        ({"departments": ["ЖКХ"]}, "yuzhny", None, False),
    ],
)
def test_what_a_scope_covers(
    stored: dict[str, list[str]], municipality: str, department: str | None, covered: bool
) -> None:
    scope = Scope.from_json(stored)
    assert scope.covers(municipality, department, members_of) is covered
    assert Scope.from_json(scope.to_json()) == scope


def test_regions_resolve_against_the_policy_when_asked() -> None:
    scope = Scope.from_json({"regions": ["north"]})
    assert scope.municipalities_in(members_of) == frozenset({"severogorsk", "zarechny"})
    assert Scope().municipalities_in(members_of) is None
    assert scope.describe() == "регионы: north"


@pytest.mark.parametrize(
    "stored", [{"town": ["x"]}, {"municipalities": "severogorsk"}, {"regions": [""]}]
)
def test_a_scope_that_cannot_be_stored_is_refused(stored: dict[str, object]) -> None:
    with pytest.raises(ScopeError):
        Scope.from_json(stored)
