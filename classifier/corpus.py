"""The labelled seed corpus (classifier/data/seed/*.csv) and its fixed held-out split."""

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

SEED_DIR = Path(__file__).with_name("data") / "seed"
HELD_OUT_SHARE = 5  # every 5th text by hash: 20 %, never used for fitting or tuning


@dataclass(frozen=True)
class Example:
    text: str
    is_incident: bool
    category: str
    sentiment: str
    kind: str


def load_corpus(directory: Path = SEED_DIR) -> list[Example]:
    examples: list[Example] = []
    for path in sorted(directory.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                examples.append(
                    Example(
                        text=row["text"],
                        is_incident=row["is_incident"].strip() == "1",
                        category=row["category"].strip() or "none",
                        sentiment=row["sentiment"].strip() or "neutral",
                        kind=row.get("kind", "").strip(),
                    )
                )
    return examples


def is_held_out(text: str) -> bool:
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).digest()
    return digest[0] % HELD_OUT_SHARE == 0


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(train, held_out): by a hash of the text, so the split never changes with file order."""
    train = [e for e in examples if not is_held_out(e.text)]
    held_out = [e for e in examples if is_held_out(e.text)]
    return train, held_out


def corpus_digest(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        fields = (example.text, str(int(example.is_incident)), example.category, example.sentiment)
        digest.update("\x1f".join(fields).encode("utf-8") + b"\x1e")
    return digest.hexdigest()
