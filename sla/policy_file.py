"""Reading the SLA policy file (the bundled default when none is configured)."""

from pathlib import Path

from kernel.yaml_files import read_text
from sla.domain.policy import PolicyError, SlaPolicy, load_policy

BUNDLED = Path(__file__).with_name("default_policy.yaml")


def load_policy_file(path: Path | None) -> SlaPolicy:
    source = path or BUNDLED
    text = read_text(source, "политика SLA")
    try:
        return load_policy(text)
    except PolicyError as error:
        raise PolicyError(f"{source}: {error}") from error
