"""The README's pictures are `make demo` as a person sees it: the real `otklik demo` (its living
sample, moved to end in the week before today, and its embedded PostgreSQL), signed in with the
password it prints, in a real Chromium at 1366×768. The queue and the «Показатели» page are drawn
to var/artifacts/e2e/ and, with E2E_README_IMAGES=1, to docs/img/ for the README.

What is checked does not depend on the hour or the day the test runs at: the sample's newest
incident is less than two weeks older than the demo's clock (the living shift happened), the
queue lists incidents, the indicators page draws its chart, and both fit the screen."""

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.browser import fits_the_screen, row_ids, screenshot, sign_in, wait
from tests.e2e.conftest import Browser
from tools.demo_process import Demo, running_demo

pytestmark = pytest.mark.e2e
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("demo"), model_dir) as demo:
        yield demo


def test_the_readme_pictures_come_from_the_living_demo(demo: Demo, browsers: Browser) -> None:
    browser = browsers("demo")
    base = demo.base
    sign_in(browser, base, demo.login, demo.password)
    # The API, with the browser's session: the newest incident's time against the demo's own
    # clock (the response's Date), the one the living sample was moved by.
    served, page = browser.execute_script(
        "return fetch('/api/incidents?limit=500')"
        ".then((r) => r.json().then((body) => [r.headers.get('date'), body]))"
    )
    newest = max(datetime.fromisoformat(item["created_at"]) for item in page["items"])
    assert parsedate_to_datetime(served) - newest < timedelta(days=14), (served, newest)
    browser.get(f"{base}/queue")
    wait(browser, row_ids)
    assert fits_the_screen(browser)
    queue = screenshot(browser, "demo-queue")

    browser.get(f"{base}/indicators")
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "svg.line-chart"))
    assert fits_the_screen(browser)
    indicators = screenshot(browser, "demo-indicators")
    if os.environ.get("E2E_README_IMAGES"):
        README_IMAGES.mkdir(exist_ok=True)
        shutil.copyfile(queue, README_IMAGES / "queue.png")
        shutil.copyfile(indicators, README_IMAGES / "indicators.png")
