"""deploy/ is code: the compose file must pass `docker compose config`, and as resolved by it the
web trusts the TLS proxy alone, every stage reads the city's files, Grafana's state and the
backups have volumes."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import unavailable

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_file_passes_docker_compose_config() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        unavailable("docker compose v2 missing: run deploy/tools/ensure-compose.sh")
    result = subprocess.run(
        [str(docker), "compose", "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def resolved_compose(deploy: Path = DEPLOY) -> dict[str, Any]:
    docker = shutil.which("docker")
    if docker is None:
        unavailable("docker compose v2 missing: run deploy/tools/ensure-compose.sh")
    assert docker is not None
    command = [docker, "compose", "-f", str(deploy / "docker-compose.yml"), "config", "--format"]
    result = subprocess.run([*command, "json"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_web_trusts_forwarded_headers_from_the_proxy_alone() -> None:
    services = resolved_compose()["services"]
    proxy = services["proxy"]
    address = proxy["networks"]["default"]["ipv4_address"]
    assert services["web"]["environment"]["OTKLIK_FORWARDED_ALLOW_IPS"] == address
    mounts = {v["target"]: v["source"] for v in proxy["volumes"]}
    assert Path(mounts["/etc/nginx/conf.d/default.conf"]) == DEPLOY / "nginx" / "otklik.conf"


def test_every_stage_reads_the_city_files_and_state_survives_a_recreate() -> None:
    compose = resolved_compose()
    for name, service in compose["services"].items():
        if service.get("image") == "otklik:latest":
            variables = service["environment"]
            for key in ("OTKLIK_SOURCES_FILE", "OTKLIK_POLICY_FILE", "OTKLIK_PLANS_FILE"):
                assert variables[key].startswith("/etc/otklik/"), (name, key)
    aggregator = compose["services"]["aggregator"]["environment"]
    assert aggregator["OTKLIK_DELIVERY_FILE"] == "/etc/otklik/delivery.yaml"
    grafana = {v["target"] for v in compose["services"]["grafana"]["volumes"]}
    assert "/var/lib/grafana" in grafana
    backup = compose["services"]["backup"]
    assert backup["entrypoint"] == ["/bin/sh", "/otklik/backup.sh"]
    mounts = {v["target"]: v["source"] for v in backup["volumes"]}
    assert Path(mounts["/otklik/backup.sh"]) == DEPLOY / "tools" / "backup.sh"


def test_the_aggregator_takes_the_relay_from_its_optional_settings_file(tmp_path: Path) -> None:
    """Without config/aggregator.env the stack comes up (deliveries wait); with it, the
    aggregator alone gets the relay."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    (copy / "config" / "aggregator.env").write_text(
        "OTKLIK_SMTP_HOST=smtp.city.example\nOTKLIK_WEBHOOK_SIGNING_SECRET=report_webhook_key\n",
        encoding="utf-8",
    )
    services = resolved_compose(copy)["services"]
    assert services["aggregator"]["environment"]["OTKLIK_SMTP_HOST"] == "smtp.city.example"
    assert services["aggregator"]["environment"]["OTKLIK_WEBHOOK_SIGNING_SECRET"] == (
        "report_webhook_key"
    )
    assert "OTKLIK_SMTP_HOST" not in services["web"]["environment"]
