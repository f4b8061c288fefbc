"""What the classifier decides, independent of how (pure)."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Verdict:
    is_incident: bool
    score: float
    category: str | None
    sentiment: str
    explanation: tuple[str, ...]


class Classifier(Protocol):
    version: str
    threshold: float

    def classify(self, texts: list[str], *, explain: bool = False) -> list[Verdict]:
        """One verdict per text, in order."""
