"""Where the bundled demo lives: its VK sample, and the sources file every command falls back
to when none is configured. A module of its own so that a stage importing it does not import
the embedded runtime (the classifier, the web app: about 150 MiB resident)."""

from pathlib import Path

from kernel.settings import Settings

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo" / "data"


def default_sources_file(settings: Settings) -> Path:
    return settings.sources_file or DEMO_DATA / "sources.yaml"
