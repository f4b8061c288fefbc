"""The queue, an incident and the indicators page fit the screen from a phone to a laptop: no
sideways scrolling of the page at 390×844 (a phone, emulated as one: touch, its viewport meta
honoured), 1024×768 and 1366×768 (issue 21 measured 815 px of page on a 390 px phone). Wide
tables scroll inside their own box, which is allowed; the page itself must not."""

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from selenium import webdriver

from tests.e2e.browser import fits_the_screen, row_ids, screenshot, sign_in, wait
from tests.e2e.conftest import Browser
from tests.e2e.live_app import LiveApp
from tests.e2e.ui_seed import PASSWORD

pytestmark = pytest.mark.e2e
SIZES = ((390, 844), (1024, 768), (1366, 768))
PHONE_WIDTH = 500


@pytest.fixture(scope="module")
def glava(app: LiveApp, browsers: Browser) -> Iterator[webdriver.Chrome]:
    """A supervisor: the most on each page (the bulk bar, every action form)."""
    browser = browsers("glava")
    sign_in(browser, app.base, "glava", PASSWORD)
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def sized(browser: webdriver.Chrome, width: int, height: int) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < PHONE_WIDTH},
    )


def overflowing(browser: webdriver.Chrome, edge: int) -> list[str]:
    """What sticks out past the screen's right edge: the culprits, named for the failure."""
    found: list[str] = browser.execute_script(
        """const edge = arguments[0];
        return Array.from(document.querySelectorAll('body *'))
          .filter((el) => el.getBoundingClientRect().right > edge + 1)
          .slice(0, 8)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`
                       + ` right=${Math.round(el.getBoundingClientRect().right)}`);""",
        edge,
    )
    return found


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_pages_fit_the_screen(app: LiveApp, glava: webdriver.Chrome, width: int,
                                  height: int) -> None:  # fmt: skip
    sized(glava, width, height)
    glava.get(f"{app.base}/queue?overdue=no")
    target = wait(glava, row_ids)[0]
    pages = {
        "queue": f"{app.base}/queue",
        "incident": f"{app.base}/incidents/{quote(target, safe='')}",
        "indicators": f"{app.base}/indicators?period=2026-10",
    }
    wide: dict[str, object] = {}
    for name, url in pages.items():
        glava.get(url)
        wait(glava, lambda b: b.execute_script("return document.readyState") == "complete")
        # A phone zooms out to show a page wider than itself: its viewport then grows instead.
        inner = glava.execute_script("return window.innerWidth")
        if inner != width or not fits_the_screen(glava):
            scroll = glava.execute_script("return document.documentElement.scrollWidth")
            wide[name] = (scroll, overflowing(glava, width))
        screenshot(glava, f"layout-{name}-{width}x{height}")
    # From 1024 px the incident keeps its two columns: facts and actions beside the message.
    glava.get(pages["incident"])
    beside = glava.execute_script(
        """const [main, side] = ['.main-column', '.side-column']
             .map((s) => document.querySelector(s).getBoundingClientRect());
           return side.left >= main.right && side.top === main.top;"""
    )
    assert beside is (width >= 1024), f"incident columns at {width}: side by side = {beside}"
    assert wide == {}, f"the page scrolls sideways at {width}×{height}: {wide}"
