"""`make audit` (and a step of `make test`): the locked dependencies against PyPI's advisories.

pip-audit asks PyPI's JSON API for each pinned version's known vulnerabilities. Where that API
cannot be reached (a mirror or proxy that serves only the package index, as on the development
machines of this project), pip-audit would report every package as "could not be audited" and
still say "No known vulnerabilities found": that is not an audit. So the API is probed first;
when it answers, the audit runs strictly (any vulnerability or unaudited package fails); when it
does not, the step says so plainly and, unless OTKLIK_REQUIRE_AUDIT=1, does not fail the run.
"""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def probe_url() -> str:
    """The per-version endpoint pip-audit itself asks, for the first locked package."""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==", 1)
            return f"https://pypi.org/pypi/{name.strip()}/{version.split()[0]}/json"
    raise SystemExit(f"audit: no pinned package in {LOCK}")


def advisories_reachable(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - an https URL
            return response.status == 200, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return False, str(error)


def main() -> int:
    url = probe_url()
    reachable, why = advisories_reachable(url)
    if not reachable:
        print(
            f"audit: PyPI's advisory API ({url}) is not reachable here ({why}); "
            "the locked dependencies were NOT audited."
        )
        return 1 if os.environ.get("OTKLIK_REQUIRE_AUDIT") == "1" else 0
    command = [
        sys.executable, "-m", "pip_audit", "--strict", "--no-deps", "--disable-pip",
        "--progress-spinner", "off", "-r", str(LOCK),
    ]  # fmt: skip
    return subprocess.run(command, check=False).returncode  # noqa: S603 - our own argv


if __name__ == "__main__":
    sys.exit(main())
