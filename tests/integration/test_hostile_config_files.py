"""Hostile files otklik is configured with, through the real commands: each is refused with a
Russian message naming the file and the limit and code 2 — no traceback, no hang (issue 20)."""

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kernel.yaml_text import MAX_BYTES, MAX_DEPTH, MAX_NODES, ConfigFileError
from services.auth.directory import load_groups
from services.cli import app as cli_app
from services.web.templates_store import load_reply_templates
from tests.conftest import SettingsFactory

pytestmark = pytest.mark.integration
POLICY = (Path(__file__).parents[2] / "sla" / "default_policy.yaml").read_text(encoding="utf-8")
# Ten to the ninth strings as shared references: loads in microseconds, expands to a billion.
BOMB = "".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}' if level else 'lol'] * 10)}]\n"
    for level in range(9)
)
HOSTILE = {
    "huge hours": (
        POLICY.replace(
            "first_response: {working_hours: 8}", "first_response: {working_hours: 1e308}"
        ),
        "rules[0].first_response.working_hours: должно быть не больше 8784",
    ),
    "a megabyte of [": ("[" * MAX_BYTES, "не YAML"),
    "over the size limit": ("#" * (MAX_BYTES + 1), f"больше {MAX_BYTES // 1024} КиБ"),
    "alias bomb as version": (BOMB + "version: *l8\n", f"больше чем в {MAX_NODES} значений"),
    "deep nesting": ("version: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "вложенность"),
}


def _env(settings_factory: SettingsFactory, database_url: str, **files: Path) -> dict[str, str]:
    return {
        "OTKLIK_DATABASE_URL": database_url,
        "OTKLIK_DATA_DIR": str(settings_factory.tmp_path / "data"),
        **{f"OTKLIK_{name.upper()}": str(path) for name, path in files.items()},
    }


def _refused(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exc_info is not None
    assert result.exc_info[0] is SystemExit, result.exc_info
    for text in expected:
        assert text in result.output, result.output


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_policy_file_is_refused_by_otklik_indicators(
    case: str, settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    text, expected = HOSTILE[case]
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    env = _env(settings_factory, database_url, policy_file=policy)
    result = CliRunner().invoke(cli_app, ["indicators", "--month", "2026-09"], env=env)
    _refused(result, str(policy), expected)


def test_an_alias_bomb_is_refused_about_as_fast_as_a_good_policy_loads(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    """The command migrates the database before it reads the policy: the bound is over a run of
    the same command with the bundled policy (an empty database: nothing to show, code 0)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(BOMB + "version: *l8\n", encoding="utf-8")
    env = _env(settings_factory, database_url)
    assert CliRunner().invoke(cli_app, ["indicators", "--month", "2026-09"], env=env).exit_code == 0
    started = time.monotonic()
    good = CliRunner().invoke(cli_app, ["indicators", "--month", "2026-09"], env=env)
    baseline = time.monotonic() - started
    assert good.exit_code == 0, good.output
    started = time.monotonic()
    env["OTKLIK_POLICY_FILE"] = str(policy)
    bomb = CliRunner().invoke(cli_app, ["indicators", "--month", "2026-09"], env=env)
    # Generous: the bomb hung this command for over a minute before the loader counted it.
    assert time.monotonic() - started < baseline + 2
    _refused(bomb, str(policy), f"больше чем в {MAX_NODES} значений")


def test_a_policy_file_not_in_utf8_names_the_line(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(POLICY.encode("utf-8") + "# Комментарий\n".encode("cp1251"))
    env = _env(settings_factory, database_url, policy_file=policy)
    result = CliRunner().invoke(cli_app, ["indicators", "--month", "2026-09"], env=env)
    _refused(result, str(policy), "не в кодировке UTF-8", f"строка {POLICY.count(chr(10)) + 1}")


def test_a_plans_file_bomb_and_a_sources_file_bomb_are_refused(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text(BOMB + "years: *l8\n", encoding="utf-8")
    env = _env(settings_factory, database_url, plans_file=plans)
    result = CliRunner().invoke(
        cli_app, ["report", "--period", "2026", "--format", "json"], env=env
    )
    _refused(result, str(plans), f"больше чем в {MAX_NODES} значений")

    sources = tmp_path / "sources.yaml"
    sources.write_text(BOMB + "sources: *l8\n", encoding="utf-8")
    table = tmp_path / "appeals.csv"
    table.write_text("a,b\n1,2\n", encoding="utf-8")
    env = _env(settings_factory, database_url, sources_file=sources)
    result = CliRunner().invoke(cli_app, ["import", str(table), "--source", "x"], env=env)
    _refused(result, str(sources), f"больше чем в {MAX_NODES} значений")


def test_a_plans_file_not_in_utf8_names_the_line(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_bytes(b"years:\n  2026:\n" + "# план\n".encode("cp1251"))
    env = _env(settings_factory, database_url, plans_file=plans)
    result = CliRunner().invoke(
        cli_app, ["report", "--period", "2026", "--format", "json"], env=env
    )
    _refused(result, str(plans), "не в кодировке UTF-8 (строка 3")


def test_a_megabyte_municipality_in_a_history_is_refused_with_its_line(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    history = tmp_path / "history.jsonl"
    event = {
        "at": "2026-09-01T10:00:00+03:00",
        "event": "message",
        "message_id": "old-1",
        "municipality": "x" * 1_000_000,
        "text": "Яма",
    }
    history.write_text("\n" + json.dumps(event) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli_app, ["replay", str(history)], env=_env(settings_factory, database_url)
    )
    _refused(result, "строка 2: municipality: слишком длинная строка (не больше 200 символов)")
    assert len(result.output) < 1000


def test_a_secrets_file_not_in_utf8_ends_any_command_with_its_name(
    settings_factory: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_bytes("city: пароль\n".encode("cp1251"))
    env = _env(settings_factory, database_url, secrets_file=secrets)
    result = CliRunner().invoke(cli_app, ["indicators", "--month", "2026-09"], env=env)
    _refused(result, str(secrets), "не в кодировке UTF-8 (строка 1")


@pytest.mark.parametrize("loader", [load_reply_templates, load_groups])
def test_reply_templates_and_directory_groups_refuse_a_bomb(
    loader: Callable[[Path], object], tmp_path: Path
) -> None:
    path = tmp_path / "file.yaml"
    path.write_text(BOMB + "templates: *l8\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=f"{path}: ссылки YAML"):
        loader(path)
