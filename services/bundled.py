"""Where the bundled demo lives: its VK sample, and the sources and plans files every command
falls back to when none is configured. A module of its own so that a stage importing it does not
import the embedded runtime (the classifier, the web app: about 150 MiB resident)."""

from pathlib import Path

from kernel.settings import Settings

DEMO_DATA = Path(__file__).resolve().parent / "demo" / "data"


def default_sources_file(settings: Settings) -> Path:
    return settings.sources_file or DEMO_DATA / "sources.yaml"


def default_plans_file(settings: Settings) -> Path:
    return settings.plans_file or DEMO_DATA / "plans.yaml"
