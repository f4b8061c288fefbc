"""Reading the SLA policy file (the bundled default when none is configured)."""

from pathlib import Path

from sla.domain.policy import SlaPolicy, load_policy

BUNDLED = Path(__file__).with_name("default_policy.yaml")


def load_policy_file(path: Path | None) -> SlaPolicy:
    return load_policy((path or BUNDLED).read_text(encoding="utf-8"))
