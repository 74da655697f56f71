"""deploy/ as far as it can be checked without a Kubernetes cluster: every YAML and TOML file parses,
the variables it sets are real settings (or Temporal's connection variables), the commands are the
project's scripts, the image is the project's, the kustomizations name files that exist, the Cloud
profiles load with temporalio.envconfig, and a stopping worker pod has time to stop gracefully."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from temporalio.envconfig import ClientConfig

import worker
from edge.settings import variables

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
ENVCONFIG = {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE",
             "TEMPORAL_TLS", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
             "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME"}
"""The Temporal connection variables our programs read (temporalio.envconfig)."""
UI_CODEC = {"TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_INCLUDE_CREDENTIALS", "TEMPORAL_CODEC_PASS_ACCESS_TOKEN"}
"""The Web UI server's codec variables (deploy/temporal/values.yaml)."""


def documents(suffixes: tuple[str, ...] = (".yaml", ".yml")) -> list[tuple[Path, object]]:
    return [(path, doc) for path in sorted(DEPLOY.rglob("*")) if path.suffix in suffixes
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def manifests(kind: str | None = None) -> list[tuple[Path, dict]]:
    return [(path, doc) for path, doc in documents() if isinstance(doc, dict) and "apiVersion" in doc
            and (kind is None or doc["kind"] == kind)]


def containers() -> list[tuple[str, dict]]:
    return [(f"{path.name}: {doc['metadata']['name']}", container)
            for kind in ("Deployment", "Job") for path, doc in manifests(kind)
            for container in doc["spec"]["template"]["spec"]["containers"]]


def test_every_file_parses():
    assert len(documents()) >= 10
    for path in DEPLOY.rglob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))


def test_every_variable_named_is_one_we_read():
    named = {name for path in DEPLOY.rglob("*") if path.is_file()
             for name in re.findall(r"\b(?:TELECOM|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))}
    assert named - set(variables()) - ENVCONFIG - UI_CODEC == set()
    set_here = {v["name"] for _, c in containers() for v in c.get("env", [])}
    set_here |= {key for _, doc in manifests("ConfigMap") + manifests("Secret")
                 for key in {**doc.get("data", {}), **doc.get("stringData", {})}}
    assert set_here - set(variables()) - ENVCONFIG == set()
    assert {"TELECOM_DATABASE_URL", "TELECOM_CODEC_KEYS", "TELECOM_ID_HASH_KEY", "TELECOM_CODEC_TOKEN",
            "TELECOM_WORKER_PROCESSES", "TELECOM_METRICS_ADDRESS"} <= set_here


def test_commands_and_image_are_the_projects():
    scripts = set(PROJECT["scripts"])
    found = containers()
    assert {c["command"][0] for _, c in found} == scripts, "each script runs somewhere, and nothing else"
    assert {c["image"] for _, c in found} == {PROJECT["name"]}
    kustomize = yaml.safe_load((DEPLOY / "telecom" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert [i["name"] for i in kustomize["images"]] == [PROJECT["name"]]
    assert kustomize["images"][0]["newName"].endswith("/" + PROJECT["name"])
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'^CMD \["(.+?)"', dockerfile, re.MULTILINE).group(1) in scripts
    for copied in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / copied).exists(), copied


@pytest.mark.parametrize("folder", ["telecom", "cloud"])
def test_kustomizations_name_files_that_exist(folder):
    kustomize = yaml.safe_load((DEPLOY / folder / "kustomization.yaml").read_text(encoding="utf-8"))
    named = [*kustomize.get("resources", []), *(p["path"] for p in kustomize.get("patches", [])),
             *(f for g in kustomize.get("configMapGenerator", []) for f in g["files"])]
    assert named and all((DEPLOY / folder / name).exists() for name in named)


def test_a_stopping_worker_pod_has_time_to_stop_gracefully():
    (_, deployment), = [(p, d) for p, d in manifests("Deployment") if d["metadata"]["name"] == "telecom-worker"]
    spec = deployment["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] >= worker.GRACEFUL_SHUTDOWN.total_seconds() + worker.STOP_MARGIN
    probe = spec["containers"][0]["readinessProbe"]["httpGet"]
    settings = next(d for _, d in manifests("ConfigMap") if d["metadata"]["name"] == "telecom-settings")["data"]
    assert settings["TELECOM_METRICS_ADDRESS"].endswith(":9464") and probe == {"path": "/metrics", "port": "metrics"}


@pytest.mark.parametrize("profile", ["cloud", "cloud-mtls"])
def test_the_cloud_profiles_load(profile):
    loaded = ClientConfig.load(config_source=DEPLOY / "cloud" / "temporal.toml").profiles[profile]
    assert loaded.address and loaded.address.endswith(":7233") and loaded.namespace
    assert (loaded.tls is not None) == (profile == "cloud-mtls")
