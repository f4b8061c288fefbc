"""File-based model registry: versioned artefacts with their training-data hash, metrics and
threshold, and one promoted version that services load.

Layout: <root>/<version>/model.joblib, <root>/<version>/meta.json, <root>/PROMOTED (the version).
Promotion writes PROMOTED atomically, so a service polling it never reads half a name.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from classifier.domain.model import IncidentModel


class NoPromotedModelError(LookupError):
    pass


@dataclass(frozen=True)
class ModelInfo:
    version: str
    meta: dict[str, Any]


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, model: IncidentModel, meta: dict[str, Any]) -> ModelInfo:
        directory = self.root / model.version
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, directory / "model.joblib", compress=3)
        full_meta = {"version": model.version, "threshold": model.threshold, **meta}
        (directory / "meta.json").write_text(
            json.dumps(full_meta, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        return ModelInfo(model.version, full_meta)

    def versions(self) -> list[ModelInfo]:
        infos = []
        for meta_path in sorted(self.root.glob("*/meta.json")):
            infos.append(ModelInfo(meta_path.parent.name, json.loads(meta_path.read_text("utf-8"))))
        return infos

    def promote(self, version: str) -> None:
        if not (self.root / version / "model.joblib").exists():
            raise LookupError(f"no model version {version} in {self.root}")
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".promoted")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(version)
        Path(tmp).replace(self.root / "PROMOTED")

    def promoted_version(self) -> str | None:
        marker = self.root / "PROMOTED"
        return marker.read_text(encoding="utf-8").strip() if marker.exists() else None

    def load(self, version: str) -> IncidentModel:
        model = joblib.load(self.root / version / "model.joblib")
        if not isinstance(model, IncidentModel):
            raise TypeError(f"{version} is not an IncidentModel")
        return model

    def load_promoted(self) -> IncidentModel:
        version = self.promoted_version()
        if version is None:
            raise NoPromotedModelError(f"no promoted model in {self.root}")
        return self.load(version)
