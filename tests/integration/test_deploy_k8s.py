"""deploy/k8s is code: every document parses and is namespaced, every Deployment has probes and
resources on the port its settings open, consumers scale no further than their topic's
partitions, the topics Job runs the very script of deploy/kafka for exactly the topics otklik
uses, and every command a container runs exists in the CLI (compose's too)."""

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ingest.sources_file import load_sources
from kernel.contracts.topics import Topic
from kernel.settings import Settings
from services.cli import app
from sla.delivery.sender import load_recipients
from sla.domain.plans import load_plans
from sla.domain.policy import load_policy

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
CONSUMERS = {"classifier", "sla"}  # consumer groups: replicas beyond partitions would idle
SINGLETONS = {"ingest-vk", "aggregator"}


def documents(*paths: Path) -> list[dict[str, Any]]:
    docs = []
    for path in paths:
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    return docs


ALL = documents(*sorted(K8S.glob("*.yaml")), *sorted((K8S / "examples").glob("*.yaml")))


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in ALL if d["kind"] == kind}


def env() -> dict[str, str]:
    return dict(of_kind("ConfigMap")["otklik-env"]["data"])


def component(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def expected_port(args: list[str]) -> int:
    """The port the process opens, from the settings it is given."""
    settings = env()
    if args == ["web"]:
        return int(settings["OTKLIK_HTTP_PORT"])
    if args == ["ingest", "http"]:
        return int(settings["OTKLIK_INGEST_HTTP_PORT"])
    return int(settings["OTKLIK_METRICS_PORT"])


def expected_ports(args: list[str]) -> list[int]:
    """The ports the container declares: the public processes serve /metrics on a port of their
    own."""
    if args in (["web"], ["ingest", "http"]):
        return [expected_port(args), int(env()["OTKLIK_METRICS_PORT"])]
    return [expected_port(args)]


def test_every_document_is_a_named_namespaced_object() -> None:
    assert len(ALL) >= 15
    for doc in ALL:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "otklik", doc["metadata"]["name"]


def test_the_settings_in_the_config_map_are_real_settings_with_valid_values() -> None:
    fields = {f"OTKLIK_{name.upper()}" for name in Settings.model_fields}
    assert set(env()) <= fields, set(env()) - fields
    settings = Settings.model_validate(
        {k.removeprefix("OTKLIK_").lower(): v for k, v in env().items()}
    )
    assert settings.kafka_partitions >= max(
        hpa["spec"]["maxReplicas"]
        for hpa in of_kind("HorizontalPodAutoscaler").values()
        if component(hpa) in CONSUMERS
    )


def test_every_deployment_has_probes_and_resources_on_the_port_its_settings_open() -> None:
    deployments = of_kind("Deployment")
    assert {component(d) for d in deployments.values()} == {
        "ingest-vk", "ingest-http", "classifier", "sla", "aggregator", "web",
    }  # fmt: skip
    for name, deployment in deployments.items():
        box = container(deployment)
        ports = {p["name"]: p["containerPort"] for p in box["ports"]}
        assert list(ports.values()) == expected_ports(box["args"]), name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert box[probe]["httpGet"]["port"] in ports, (name, probe)
            expected_path = (
                "/healthz" if box["args"] in (["web"], ["ingest", "http"]) else "/metrics"
            )
            assert box[probe]["httpGet"]["path"] == expected_path, (name, probe)
        for bound in ("requests", "limits"):
            assert set(box["resources"][bound]) == {"cpu", "memory"}, (name, bound)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == expected_ports(box["args"])[-1]
        assert box["envFrom"][0]["configMapRef"]["name"] == "otklik-env"
        if component(deployment) in SINGLETONS:
            assert deployment["spec"]["replicas"] == 1
            assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_services_and_autoscalers_point_at_what_exists() -> None:
    deployments = of_kind("Deployment")
    for name, service in of_kind("Service").items():
        (target,) = [d for d in deployments.values() if component(d) == component(service)]
        assert service["spec"]["selector"] == target["spec"]["selector"]["matchLabels"]
        names = {p["name"] for p in container(target)["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= names, name
    for name, hpa in of_kind("HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments, name
        assert component(hpa) not in SINGLETONS
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def references(node: object, kind: str) -> set[str]:
    """Names of ConfigMaps (``kind="configMap"``) or Secrets (``"secret"``) a pod spec uses."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {kind, f"{kind}Ref", f"{kind}KeyRef"} and isinstance(value, dict):
                found.add(value["name"])
            found |= references(value, kind)
    elif isinstance(node, list):
        for item in node:
            found |= references(item, kind)
    return found


def pod_specs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(document, pod spec) of every Deployment, Job and CronJob."""
    found = [(d, d["spec"]["template"]["spec"]) for d in of_kind("Deployment").values()]
    found += [(d, d["spec"]["template"]["spec"]) for d in of_kind("Job").values()]
    found += [
        (d, d["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        for d in of_kind("CronJob").values()
    ]
    return found


def test_referenced_config_maps_secrets_and_claims_exist() -> None:
    claims = of_kind("PersistentVolumeClaim")
    for doc, spec in pod_specs():
        assert references(spec, "configMap") <= set(of_kind("ConfigMap")), doc["metadata"]
        assert references(spec, "secret") <= set(of_kind("Secret")), doc["metadata"]
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
    assert references(container(of_kind("Deployment")["otklik-web"]), "secret") == {"otklik-db"}


def test_the_topics_job_runs_the_deploy_script_for_exactly_otkliks_topics() -> None:
    script = (DEPLOY / "kafka" / "create-topics.sh").read_text(encoding="utf-8")
    assert of_kind("ConfigMap")["otklik-topics"]["data"]["create-topics.sh"] == script
    listed = re.findall(r"^(otklik\.[\w.]+)\s", script, re.M)
    assert sorted(listed) == sorted(topic.value for topic in Topic)
    job = of_kind("Job")["otklik-topics"]
    box = job["spec"]["template"]["spec"]["containers"][0]
    assert box["command"] == ["/bin/sh", "/otklik/create-topics.sh"]


def test_the_backup_cron_job_runs_the_deploy_script_into_its_own_volume() -> None:
    script = (DEPLOY / "tools" / "backup.sh").read_text(encoding="utf-8")
    assert of_kind("ConfigMap")["otklik-backup"]["data"]["backup.sh"] == script
    job = of_kind("CronJob")["otklik-backup"]
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (box,) = pod["containers"]
    assert box["command"] == ["/bin/sh", "/otklik/backup.sh"]
    variables = {e["name"]: e for e in box["env"]}
    assert variables["BACKUP_ONCE"]["value"] == "1"
    assert variables["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "otklik-db"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert {v["name"] for v in pod["volumes"]} == {m["name"] for m in box["volumeMounts"]}


def test_the_shipped_files_load_and_agree() -> None:
    """The sources, SLA policy, plans and report recipients of the otklik-files ConfigMap,
    through otklik's own loaders: a plan for a municipality the policy does not know stops every
    report, a recipient's the aggregator."""
    files = of_kind("ConfigMap")["otklik-files"]["data"]
    files_named = ("OTKLIK_SOURCES_FILE", "OTKLIK_POLICY_FILE", "OTKLIK_PLANS_FILE")
    assert {f"/etc/otklik/{name}" for name in files} >= {
        env()[key] for key in (*files_named, "OTKLIK_DELIVERY_FILE")
    }
    policy = load_policy(files["sla-policy.yaml"])
    plans = load_plans(files["plans.yaml"], policy.spec.municipalities)
    assert plans is not None
    with tempfile.TemporaryDirectory() as directory:
        sources = Path(directory) / "sources.yaml"
        sources.write_text(files["sources.yaml"], encoding="utf-8")
        catalog = load_sources(sources)
        delivery = Path(directory) / "delivery.yaml"
        delivery.write_text(files["delivery.yaml"], encoding="utf-8")
        recipients = load_recipients(delivery, policy)
    assert {s.municipality for s in catalog.sources} <= set(policy.spec.municipalities)
    assert recipients.of("severogorsk") == ("pr@severogorsk.example",)


def compose_commands() -> list[list[str]]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    return [
        service["command"]
        for service in compose["services"].values()
        if service.get("image") == "otklik:latest"
    ]


@pytest.mark.parametrize(
    "args",
    sorted(
        {tuple(container(d)["args"]) for d in [*of_kind("Deployment").values()]}
        | {
            tuple(c["args"])
            for job in of_kind("Job").values()
            for c in job["spec"]["template"]["spec"]["containers"]
            if "args" in c
        }
        | {tuple(command) for command in compose_commands()}
    ),
)
def test_every_command_a_container_runs_exists(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_the_topics_script_creates_each_topic_with_its_partitions_and_retention(
    tmp_path: Path,
) -> None:
    """Run with stand-ins for Kafka's CLI tools that record their arguments (the tools
    themselves are Kafka's; what is ours is what we ask of them)."""
    calls = tmp_path / "calls"
    for tool in ("kafka-topics.sh", "kafka-configs.sh"):
        stub = tmp_path / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n', encoding="utf-8")
        stub.chmod(0o755)
    environment = {
        "PATH": "/usr/bin:/bin", "KAFKA_BIN": str(tmp_path), "KAFKA_BOOTSTRAP": "k:9092",
        "OTKLIK_TOPIC_NAMESPACE": "city.", "OTKLIK_KAFKA_PARTITIONS": "12",
        "OTKLIK_KAFKA_REPLICATION_FACTOR": "3",
    }  # fmt: skip
    script = DEPLOY / "kafka" / "create-topics.sh"
    subprocess.run(["/bin/sh", str(script)], env=environment, check=True)
    created = {}
    for line in calls.read_text(encoding="utf-8").splitlines():
        args = line.split()
        if args[0] != "kafka-topics.sh" or "--create" not in args:
            continue

        def option(name: str, args: list[str] = args) -> str:
            return args[args.index(name) + 1]

        assert "--if-not-exists" in args and option("--bootstrap-server") == "k:9092"
        assert option("--replication-factor") == "3"
        retention = int(option("--config").removeprefix("retention.ms="))
        created[option("--topic")] = (int(option("--partitions")), retention // 86_400_000)
    assert created == {
        "city.otklik.messages.raw.v1": (12, 7),
        "city.otklik.messages.classified.v1": (12, 7),
        "city.otklik.incidents.events.v1": (12, 30),
        "city.otklik.indicators.monthly.v1": (1, 400),
        "city.otklik.deadletters.v1": (1, 30),
        "city.otklik.answers.deliveries.v1": (12, 30),
    }
    altered = [line for line in calls.read_text(encoding="utf-8").splitlines() if "--alter" in line]
    assert len(altered) == len(Topic)  # retention of existing topics brought up to date
