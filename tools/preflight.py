"""First step of `make test`: make sure Java and Maven are there and Kafka's jars are cached,
that dovecot (the real IMAP server of the e-mail channel tests) is installed, Debian's slapd (the
directory sign-in tests), Debian's nginx (the TLS proxy test), Debian's prometheus (the dashboard
and alert tests) and prometheus-alertmanager (alert delivery), and Chromium with its WebDriver
(the browser tests).

With CI=true a missing tool is a failure; on a developer's machine it is a warning and the tests
that need Kafka (or IMAP, or a browser) are skipped with the same message.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools import alertmanager, nginx, prometheus, slapd
from tools.browser import BROWSER_HINT, missing_browser
from tools.kafka import INSTALL_HINT, ensure_jars, missing_tools

DOVECOT_HINT = "apt-get install -y dovecot-imapd (Debian's dovecot, for the IMAP tests)"


def _has_dovecot() -> bool:
    return shutil.which("dovecot") is not None or Path("/usr/sbin/dovecot").is_file()


def ensure_dovecot() -> bool:
    """Install dovecot-imapd where that is harmless: as root with apt-get, in a container or CI
    (no systemd running). On a systemd host the package would start a system-wide mail server,
    so there only the hint is printed. The tests run their own dovecot; none is left running."""
    if _has_dovecot():
        return True
    _apt_install(["dovecot-imapd"])
    return _has_dovecot()


def ensure_slapd() -> bool:
    """Debian's slapd (OpenLDAP) under the same conditions as dovecot: in a container the
    package's service is not started; the tests run their own slapd on a free port with a
    configuration of their own (tools/slapd.py), none is left running."""
    if slapd.missing_tools():
        _apt_install([slapd.PACKAGE])
    return not slapd.missing_tools()


def ensure_nginx() -> bool:
    """Debian's nginx (the shipped TLS proxy configuration's test) under the same conditions as
    dovecot: in a container the package's service is not started; the test runs its own nginx
    in the foreground with a configuration of its own (tools/nginx.py)."""
    if nginx.nginx_binary() is None:
        _apt_install([nginx.PACKAGE])
    return nginx.nginx_binary() is not None


def ensure_browser() -> list[str]:
    """Install Debian's chromium and chromium-driver under the same conditions as dovecot (a
    browser starts no service, but a developer's desktop is theirs to change). Returns what is
    still missing."""
    missing = missing_browser()
    if missing:
        _apt_install(missing)
    return missing_browser()


def ensure_prometheus() -> bool:
    """Debian's prometheus (prometheus and promtool, for the dashboard and alert tests), under
    the same conditions as dovecot: the package's service is not started in a container."""
    if prometheus.missing_tools():
        _apt_install([prometheus.PACKAGE])
    return not prometheus.missing_tools()


def ensure_alertmanager() -> bool:
    """Debian's prometheus-alertmanager (alertmanager and amtool, for the alert delivery test),
    under the same conditions as dovecot: the package's service is not started in a container."""
    if alertmanager.missing_tools():
        _apt_install([alertmanager.PACKAGE])
    return not alertmanager.missing_tools()


def _apt_install(packages: list[str]) -> None:
    """apt-get install as root, in a container or CI only; a no-op elsewhere."""
    harmless = (
        os.environ.get("CI", "").lower() in {"1", "true", "yes"}
        or not Path("/run/systemd/system").exists()
    )
    if os.geteuid() != 0 or shutil.which("apt-get") is None or not harmless:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if subprocess.run(install, env=env, check=False).returncode != 0:  # noqa: S603
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)  # noqa: S607
        subprocess.run(install, env=env, check=False)  # noqa: S603


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    servers = (
        ("dovecot", ensure_dovecot, DOVECOT_HINT),
        ("slapd", ensure_slapd, slapd.INSTALL_HINT),
        ("nginx", ensure_nginx, nginx.INSTALL_HINT),
        ("prometheus", ensure_prometheus, prometheus.INSTALL_HINT),
        ("alertmanager", ensure_alertmanager, alertmanager.INSTALL_HINT),
    )
    for name, ensure, hint in servers:
        if not ensure():
            print(f"preflight: {name} missing. {hint}", file=sys.stderr)
            if in_ci:
                return 1
    browser = ensure_browser()
    if browser:
        print(f"preflight: missing {', '.join(browser)}. {BROWSER_HINT}", file=sys.stderr)
        if in_ci:
            return 1
    missing = missing_tools()
    if missing:
        print(f"preflight: missing {', '.join(missing)}. {INSTALL_HINT}", file=sys.stderr)
        return 1 if in_ci else 0
    lib = ensure_jars()
    print(f"preflight: Java and Maven found; Kafka jars cached in {lib}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
