"""The sources file (YAML) read into the catalog of ingest/domain/sources.py."""

from pathlib import Path

import yaml

from ingest.domain.sources import SourceCatalog

# libyaml where the wheel has it: the pure-Python parser takes time quadratic in the nesting of
# [ and { (a megabyte of "[" would not finish), libyaml refuses nesting beyond 1,000 levels.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SourcesFileError(ValueError):
    """The sources file cannot be used; the text says where and why."""


def load_sources(path: Path) -> SourceCatalog:
    try:
        text = path.read_text(encoding="utf-8")
        return SourceCatalog.model_validate(yaml.load(text, Loader=_LOADER))  # noqa: S506 - safe
    except (OSError, yaml.YAMLError, ValueError, RecursionError) as error:
        # ValueError: also invalid UTF-8 and numbers of over 4,300 digits
        raise SourcesFileError(f"{path}: {error}") from error
