"""The production image installs requirements-runtime.lock (Dockerfile): what otklik runs on, at
the very versions `make test` tested (requirements.lock), and none of the dev tools."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"matplotlib", "pytest", "mypy", "ruff", "selenium", "schemathesis", "pip-audit"}


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE))


def test_the_runtime_lock_is_the_tested_versions_without_the_dev_tools() -> None:
    runtime, tested = pins("requirements-runtime.lock"), pins("requirements.lock")
    assert runtime and set(runtime) < set(tested)
    assert {name: tested[name] for name in runtime} == runtime
    assert not DEV_ONLY & set(runtime)
    for needed in ("fastapi", "aiokafka", "scikit-learn", "weasyprint", "natasha"):
        assert needed in runtime, needed


def test_the_image_installs_the_runtime_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "-r requirements-runtime.lock" in dockerfile
    assert "-r requirements.lock" not in dockerfile
