"""deploy/ is code: the compose file must pass `docker compose config`."""

import shutil
import subprocess
from pathlib import Path

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
