"""deploy/prometheus and deploy/grafana are code: promtool checks the config and the rules and
runs the rules' unit tests; the dashboards are well-formed, provisioned and bound to the
provisioned data source. (Whether their queries work is tests/e2e/test_observability.py.)"""

import itertools
from pathlib import Path

import pytest
import yaml

from tests.conftest import unavailable
from tools.dashboards import DASHBOARDS, DATASOURCE_UID, load_dashboards, panel_queries
from tools.prometheus import DEPLOY, INSTALL_HINT, missing_tools, promtool

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"


@pytest.fixture
def tools() -> None:
    missing = missing_tools()
    if missing:
        unavailable(f"{', '.join(missing)} missing. {INSTALL_HINT}")


@pytest.mark.parametrize(
    "args",
    [
        ("check", "config", str(PROMETHEUS / "prometheus.yml")),
        ("check", "rules", *map(str, sorted((PROMETHEUS / "rules").glob("*.yml")))),
        ("test", "rules", *map(str, sorted((PROMETHEUS / "tests").glob("*.yml")))),
    ],
    ids=["check-config", "check-rules", "test-rules"],
)
def test_promtool_accepts_the_prometheus_files(tools: None, args: tuple[str, ...]) -> None:
    result = promtool(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_the_compose_prometheus_scrapes_every_process_of_the_stack() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    targets = {
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    stages = {
        name for name, service in compose["services"].items()
        if service.get("image") == "otklik:latest" and name not in {"migrate", "topics"}
    }  # fmt: skip
    assert {target.split(":")[0] for target in targets} == stages


def test_dashboards_have_fixed_unique_uids_and_use_the_provisioned_data_source() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning/datasources/prometheus.yml").read_text(encoding="utf-8")
    )
    assert [d["uid"] for d in provisioned["datasources"]] == [DATASOURCE_UID]
    boards = load_dashboards()
    assert set(boards) == {"otklik-sla", "otklik-indicators", "otklik-pipeline"}
    for board in boards.values():
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert panel["targets"], panel["title"]
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"])
        for variable in board["templating"]["list"]:
            assert variable["datasource"]["uid"] == DATASOURCE_UID
        assert len({q.panel for q in panel_queries(board)}) == len(board["panels"]), "titles"


def test_dashboard_panels_fit_the_grid_without_overlapping() -> None:
    for board in load_dashboards().values():
        cells: list[set[tuple[int, int]]] = []
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
            cells.append(
                {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])}
            )  # fmt: skip
        for first, second in itertools.combinations(cells, 2):
            assert not first & second, board["uid"]


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    provider = yaml.safe_load(
        (GRAFANA / "provisioning/dashboards/otklik.yml").read_text(encoding="utf-8")
    )
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    path = provider["providers"][0]["options"]["path"]
    assert mounts["./grafana/dashboards"] == path
    assert Path(DEPLOY / "grafana/dashboards") == DASHBOARDS
