"""Fixtures of the browser tests: the app on the demo's data, and signed-in Chromiums."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from kernel.clock import Clock
from tests.conftest import SettingsFactory, unavailable
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import demo_seed
from tests.moments import chosen
from tools.browser import BROWSER_HINT, chrome, chromedriver_binary, chromium_binary

Browser = Callable[[str], webdriver.Chrome]


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_base_url: str,
    model_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[LiveApp]:
    """A database of each module's own, so that two browser modules may run at once."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = "e2e_" + request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with psycopg.connect(postgres_base_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_base_url).set(database=name).render_as_string(hide_password=False)
    clock = Clock.starting_at(chosen(request.config))  # one for the module's app
    settings = SettingsFactory(tmp_path_factory.mktemp("web"), clock)(
        database_url=url, model_dir=model_dir
    )
    live = LiveApp(settings, demo_seed(settings)).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browsers() -> Iterator[Browser]:
    """One signed-in Chromium per user, started on first use and kept for the module."""
    binary, driver = chromium_binary(), chromedriver_binary()
    if binary is None or driver is None:
        unavailable(f"Chromium or chromedriver missing. {BROWSER_HINT}")
    assert binary is not None and driver is not None
    started: dict[str, webdriver.Chrome] = {}

    def browser(login: str) -> webdriver.Chrome:
        if login not in started:
            started[login] = chrome(binary, driver)
        return started[login]

    yield browser
    for one in started.values():
        one.quit()
