"""The one way otklik reads a YAML file someone edits: at most MAX_BYTES, UTF-8 only (a refusal
names the line), then parsed within the limits of kernel/yaml_text.py."""

from pathlib import Path

from kernel.yaml_text import MAX_BYTES, ConfigFileError, parse


def read_text(path: Path, what: str) -> str:
    """The file's text, or ConfigFileError: unreadable, over MAX_BYTES, or not UTF-8."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise ConfigFileError(f"{what} {path}: не удаётся прочитать ({error.strerror})") from error
    if len(data) > MAX_BYTES:
        raise ConfigFileError(f"{what} {path}: файл больше {MAX_BYTES // 1024} КиБ")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigFileError(
            f"{what} {path}: не в кодировке UTF-8 (строка {line}, байт 0x{data[error.start]:02x});"
            " сохраните файл в UTF-8"
        ) from error


def load(path: Path, what: str) -> object:
    """The value of the YAML file at ``path`` (``what`` names it in errors: "файл планов")."""
    return parse(read_text(path, what), f"{what} {path}")
