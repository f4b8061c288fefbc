"""Where the browser tests find Chromium and its WebDriver (Debian's chromium and
chromium-driver). The tests drive exactly these binaries: nothing is downloaded at run time."""

import shutil
from pathlib import Path

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
