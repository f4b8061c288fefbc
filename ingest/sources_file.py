"""The sources file (YAML) read into the catalog of ingest/domain/sources.py."""

from pathlib import Path

from pydantic import ValidationError

from ingest.domain.sources import SourceCatalog
from kernel.yaml_files import load
from kernel.yaml_text import ConfigFileError


class SourcesFileError(ConfigFileError):
    """The sources file cannot be used; the text says where and why."""


def load_sources(path: Path) -> SourceCatalog:
    try:
        return SourceCatalog.model_validate(load(path, "файл источников"))
    except ConfigFileError as error:
        raise SourcesFileError(str(error)) from error
    except ValidationError as error:
        raise SourcesFileError(f"файл источников {path}: {error}") from error
