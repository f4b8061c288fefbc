"""The compose stack's notifier: `otklik sla` takes the mail relay from config/aggregator.env
and the Telegram bot's secret name from config/notify.env, both optional; the web gets neither."""

import shutil
from pathlib import Path

from tests.integration.test_deploy_config import DEPLOY, resolved_compose


def test_the_sla_stage_takes_the_relay_and_the_bot_from_optional_files(tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    assert "OTKLIK_TELEGRAM_TOKEN_SECRET" not in resolved_compose(copy)["services"]["sla"].get(
        "environment", {}
    )
    (copy / "config" / "aggregator.env").write_text(
        "OTKLIK_SMTP_HOST=smtp.city.example\n", encoding="utf-8"
    )
    (copy / "config" / "notify.env").write_text(
        "OTKLIK_TELEGRAM_TOKEN_SECRET=telegram_bot_token\n", encoding="utf-8"
    )
    services = resolved_compose(copy)["services"]
    assert services["sla"]["environment"]["OTKLIK_SMTP_HOST"] == "smtp.city.example"
    assert services["sla"]["environment"]["OTKLIK_TELEGRAM_TOKEN_SECRET"] == "telegram_bot_token"
    assert "OTKLIK_TELEGRAM_TOKEN_SECRET" not in services["web"]["environment"]
