"""Replay a JSONL file of VK events (one Bots Long Poll update per line) through the ingestor."""

from pathlib import Path

from ingest.handlers import VkEventIngestor


async def replay_vk_file(path: Path, ingestor: VkEventIngestor) -> tuple[int, int]:
    """Publish every event of ``path``; returns (published, rejected or ignored)."""
    published = skipped = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if await ingestor.on_line(line.rstrip(b"\r\n"), f"{path.name}:{number}"):
                published += 1
            else:
                skipped += 1
    return published, skipped
