"""The README's pictures are `make demo` as a person sees it: the real `otklik demo` (its living
sample, moved to end in the week before today, and its embedded PostgreSQL), signed in with the
password it prints, in a real Chromium at 1366×768. The queue and the «Показатели» page are drawn
to var/artifacts/e2e/ and, with E2E_README_IMAGES=1, to docs/img/ for the README.

What is checked does not depend on the hour or the day the test runs at: the sample's newest
incident is less than two weeks older than the demo's clock (the living shift happened), the
queue lists incidents, the indicators page draws its chart, and both fit the screen."""

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.browser import fits_the_screen, row_ids, screenshot, sign_in, wait
from tests.e2e.conftest import Browser
from tests.e2e.test_demo_stops import wait_for_line
from tools.kafka import free_port

pytestmark = pytest.mark.e2e
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
SIGNED_IN = re.compile(
    r"Веб-интерфейс: (?P<base>\S+)/queue — логин (?P<login>\S+), пароль (?P<password>\S+)"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[re.Match[str]]:
    """`otklik demo` as `make demo` runs it; the line it prints for the person at the terminal."""
    data = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "OTKLIK_DATA_DIR": str(data),
        "OTKLIK_MODEL_DIR": str(model_dir),
        "OTKLIK_HTTP_PORT": str(free_port()),
        "OTKLIK_METRICS_PORT": str(free_port()),
        "OTKLIK_LOG_LEVEL": "WARNING",
    }
    env.pop("OTKLIK_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "otklik"), "demo"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        lines: list[str] = []
        try:
            wait_for_line(process, "Ctrl+C", lines)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{''.join(lines)}") from None
        found = next(filter(None, map(SIGNED_IN.search, lines)), None)
        assert found is not None, "".join(lines)
        yield found
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_readme_pictures_come_from_the_living_demo(
    demo: re.Match[str], browsers: Browser
) -> None:
    browser = browsers("demo")
    base = demo["base"]
    sign_in(browser, base, demo["login"], demo["password"])
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
