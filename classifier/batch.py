"""Batch classification of a file, for anyone who wants to evaluate the model: CSV with a
``text`` column or JSONL with a ``text`` field in, the same rows out, in the same order, with
``is_incident`` (0/1), ``score`` and ``category`` added. Streams in chunks, so 100,000 rows need
no server and little memory."""

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from classifier.domain.model import IncidentModel
from classifier.domain.verdict import Verdict

CHUNK = 2000
ADDED = ("is_incident", "score", "category")


class BatchInputError(ValueError):
    """The input file cannot be classified; the message says where and why."""


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _annotate(model: IncidentModel, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    verdicts: list[Verdict] = model.classify([str(row["text"] or "") for row in rows])
    return [
        {**row, "is_incident": int(v.is_incident), "score": v.score, "category": v.category or ""}
        for row, v in zip(rows, verdicts, strict=True)
    ]


def _csv_rows(handle: TextIO) -> tuple[list[str], Iterator[dict[str, Any]]]:
    reader = csv.DictReader(handle)
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise BatchInputError("CSV needs a header with a 'text' column")
    return list(reader.fieldnames), iter(reader)


def _jsonl_rows(handle: TextIO) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise BatchInputError(f"line {number}: not JSON ({error})") from error
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise BatchInputError(f"line {number}: needs an object with a string 'text' field")
        yield row


def classify_file(model: IncidentModel, source: Path, target: Path) -> int:
    """Classify ``source`` into ``target`` (format by extension: .csv or .jsonl); returns rows."""
    count = 0
    with (
        source.open(encoding="utf-8", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        if source.suffix.lower() == ".csv":
            names, rows = _csv_rows(src)
            writer = csv.DictWriter(out, fieldnames=[*names, *(a for a in ADDED if a not in names)])
            writer.writeheader()
            for chunk in _chunks(rows):
                writer.writerows(_annotate(model, chunk))
                count += len(chunk)
        elif source.suffix.lower() in {".jsonl", ".ndjson"}:
            for chunk in _chunks(_jsonl_rows(src)):
                out.writelines(
                    json.dumps(row, ensure_ascii=False) + "\n" for row in _annotate(model, chunk)
                )
                count += len(chunk)
        else:
            raise BatchInputError(f"{source.name}: expected a .csv or .jsonl file")
    return count
