"""Where the browser tests find Chromium and its WebDriver (Debian's chromium and
chromium-driver), and the headless browser they drive, sized like a 1366×768 laptop. The tests
drive exactly these binaries: nothing is downloaded at run time."""

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

BROWSER_PACKAGES = ("chromium", "chromium-driver")
BROWSER_HINT = (
    "apt-get install -y chromium chromium-driver "
    "(Debian's Chromium and its WebDriver, for the browser tests)"
)


def _first(names: tuple[str, ...], paths: tuple[str, ...]) -> Path | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    return next((Path(p) for p in paths if Path(p).is_file()), None)


def chromium_binary() -> Path | None:
    return _first(
        ("chromium", "chromium-browser"), ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
    )


def chromedriver_binary() -> Path | None:
    return _first(("chromedriver",), ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"))


def missing_browser() -> list[str]:
    """The Debian packages still to install (empty when both binaries are there)."""
    missing = []
    if chromium_binary() is None:
        missing.append("chromium")
    if chromedriver_binary() is None:
        missing.append("chromium-driver")
    return missing


def chrome(binary: Path, driver: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1366,768", "--force-device-scale-factor=1", "--lang=ru-RU",
        "--disable-extensions", "--no-first-run",
    ):  # fmt: skip
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(str(driver)), options=options)
    browser.set_page_load_timeout(30)
    return browser
