"""deploy/: the Kubernetes and KServe manifests, validated offline and tied to the app and image.

Every manifest is validated by kubernetes-validate in strict mode (an unknown field is an error,
as with `kubectl apply`'s default server-side field validation) against the schemas it bundles
for the oldest and the newest Kubernetes minor version supported upstream; each kustomization is
rendered with `kubectl kustomize` where kubectl exists; the KServe InferenceService is validated
against KServe's own CRD schema (vendored in deploy/kserve/schema/); yamllint is clean. The
cross-checks: every probe path answers 200 from the app over the shipped models, probe and scrape
ports are the container's port, the pod runs as the Dockerfile's USER, the grace period covers
preStop + drain + gunicorn's graceful timeout, and memory requests cover the measured RSS.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service import create_app

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
OVERLAY = K8S / "overlays" / "model-volume"
ISVC = ROOT / "deploy" / "kserve" / "inferenceservice.yaml"
CRD_SCHEMA = ROOT / "deploy" / "kserve" / "schema" / "inferenceservice-v1beta1.json"
# Upstream supports the three newest minor versions (1.35-1.37 in November 2026).
K8S_VERSIONS = ("1.35.0", "1.37.0")
# Measured RSS in MB (README "Running at scale"): the gunicorn master holding the models, a worker
# serving JSON, a worker's peak while decoding a 16.7-Mpx upload (MLPSERVE_MAX_IMAGE_PIXELS).
# Sums of RSS over-count the pages the workers share with the master: a safe bound.
RSS_MASTER, RSS_WORKER, RSS_WORKER_PEAK = 69, 55, 187
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))
KUBECTL = shutil.which("kubectl")


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _files(kustomization: Path, key: str) -> list[Path]:
    """The files (not folders) a kustomization lists under ``resources`` or ``patches``."""
    entries = _load(kustomization)[0].get(key, [])
    paths = [kustomization.parent / (e["path"] if isinstance(e, dict) else e) for e in entries]
    return [p for p in paths if not p.is_dir()]


def _objects(kustomization: Path) -> list[dict[str, Any]]:
    """Every object a kustomization builds on, its bases' included (before patches)."""
    out = []
    for entry in _load(kustomization)[0].get("resources", []):
        path = kustomization.parent / entry
        out += _objects(path / "kustomization.yaml") if path.is_dir() else _load(path)
    return out


RESOURCES = sorted({p for k in KUSTOMIZATIONS for p in _files(k, "resources")})


def _dockerfile() -> tuple[dict[str, str], str, str]:
    """The runtime stage's ENV (name -> value), USER and HEALTHCHECK command of the Dockerfile."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stage = text.split("\nFROM ")[-1].splitlines()
    env = {}
    for line in (s for s in stage if s.startswith("ENV ")):
        env.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
    (user,) = [s.split()[1] for s in stage if s.startswith("USER ")]
    (check,) = [s for s in stage if s.startswith("HEALTHCHECK ")]
    return env, user, check


def _workload(name: str) -> tuple[dict, dict, dict[str, str], dict[str, str]]:
    """(pod spec, first container, container env over the image's ENV, scrape annotations)."""
    if name == "deployment":
        (doc,) = _load(K8S / "base" / "deployment.yaml")
        pod, annotations = doc["spec"]["template"]["spec"], doc["spec"]["template"]["metadata"]
    else:
        (doc,) = _load(ISVC)
        pod, annotations = doc["spec"]["predictor"], doc["metadata"]
    container = pod["containers"][0]
    env = {**_dockerfile()[0], **{e["name"]: e["value"] for e in container.get("env", [])}}
    return pod, container, env, annotations["annotations"]


WORKLOADS = ("deployment", "inferenceservice")


def _mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


# -- schemas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", RESOURCES, ids=_rel)
def test_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for doc in _load(path):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=_rel)
def test_kustomization_lists_files_that_exist_and_patch_its_objects(kustomization: Path) -> None:
    for entry in _load(kustomization)[0]["resources"]:
        path = kustomization.parent / entry
        assert path.is_file() or (path / "kustomization.yaml").is_file(), entry
    built = {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in _objects(kustomization)}
    for patch in (d for p in _files(kustomization, "patches") for d in _load(p)):
        assert (patch["apiVersion"], patch["kind"], patch["metadata"]["name"]) in built


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl here to render kustomizations with")
@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=_rel)
def test_rendered_kustomization_is_valid_kubernetes(kustomization: Path, version: str) -> None:
    out = subprocess.run(
        [KUBECTL, "kustomize", str(kustomization.parent)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    docs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
    assert len(docs) == len(_objects(kustomization))
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_yamllint_is_clean() -> None:
    args = [sys.executable, "-m", "yamllint", "--strict", "-c", ".yamllint.yaml", "."]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD schema as the API server applies it under strict field validation (kubectl's
    default): an object with declared properties rejects others, unless it preserves unknowns."""
    s = dict(schema)
    if "properties" in s:
        s["properties"] = {k: _strict(v) for k, v in s["properties"].items()}
        if not s.get("x-kubernetes-preserve-unknown-fields"):
            s.setdefault("additionalProperties", False)
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            s[key] = _strict(s[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in s:
            s[key] = [_strict(x) for x in s[key]]
    return s


@pytest.fixture(scope="module")
def kserve_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_strict(json.loads(CRD_SCHEMA.read_text())))


def _isvc_errors(validator: jsonschema.Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_inferenceservice_is_valid_for_kserve(kserve_validator) -> None:
    (doc,) = _load(ISVC)
    # The vendored schema is v1beta1 of the CRD serving.kserve.io/inferenceservices.
    assert (doc["apiVersion"], doc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert _isvc_errors(kserve_validator, doc) == []


@pytest.mark.parametrize(
    "path, value",
    [
        (("predictor", "protocolVersion"), "v2"),  # a field of built-in model formats only
        (("predictor", "containers", 0, "portz"), []),
        (("predictor", "minReplicas"), "2"),
    ],
)
def test_kserve_schema_rejects_a_broken_inferenceservice(kserve_validator, path, value) -> None:
    (doc,) = _load(ISVC)
    broken = copy.deepcopy(doc)
    node = broken["spec"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _isvc_errors(kserve_validator, broken)


# -- cross-checks ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    env = _dockerfile()[0]
    required = env["MLPSERVE_REQUIRED_MODELS"]
    app = create_app({"MODEL_DIR": str(ROOT / "models"), "REQUIRED_MODELS": required})
    return app.test_client()


def _probe_paths() -> list[str]:
    paths = set()
    for name in WORKLOADS:
        _, container, _, annotations = _workload(name)
        paths |= {container[p]["httpGet"]["path"] for p in PROBES}
        paths.add(annotations["prometheus.io/path"])
    return sorted(paths)


@pytest.mark.parametrize("path", _probe_paths())
def test_probe_and_scrape_paths_answer_200(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("name", WORKLOADS)
def test_probes_and_scrape_use_the_container_port(name: str) -> None:
    _, container, env, annotations = _workload(name)
    (port,) = container["ports"]
    assert port["containerPort"] == int(env["PORT"])
    assert annotations["prometheus.io/port"] == env["PORT"]
    for probe in PROBES:
        assert container[probe]["httpGet"]["port"] in (port["name"], port["containerPort"])
    assert container["readinessProbe"]["httpGet"]["path"] in _dockerfile()[2]


@pytest.mark.parametrize("name", WORKLOADS)
def test_pod_runs_as_the_image_user_locked_down(name: str) -> None:
    pod, container, _, _ = _workload(name)
    uid, gid = (int(n) for n in _dockerfile()[1].split(":"))
    sc = pod["securityContext"]
    assert (sc["runAsUser"], sc["runAsGroup"], sc["runAsNonRoot"]) == (uid, gid, True)
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    csc = container["securityContext"]
    assert csc["readOnlyRootFilesystem"] and not csc["allowPrivilegeEscalation"]
    assert csc["capabilities"] == {"drop": ["ALL"]}
    (tmp,) = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp)
    assert pod["enableServiceLinks"] is False  # no MLPSERVE_*-named variables from Services


@pytest.mark.parametrize("name", WORKLOADS)
def test_grace_period_covers_prestop_drain_and_graceful_timeout(name: str, tmp_path) -> None:
    pod, container, env, _ = _workload(name)
    # gunicorn's graceful_timeout as the container computes it: the config file run with the
    # container's environment, in a process of its own (it sets variables, makes folders).
    code = "import runpy; print(runpy.run_path('service/gunicorn.conf.py')['graceful_timeout'])"
    image_env = {k: v for k, v in env.items() if k != "PATH"}  # PATH=/opt/venv/bin:$PATH
    run_env = {**os.environ, **image_env, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=run_env,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    graceful = int(out.stdout.strip().splitlines()[-1])
    drain = int(env["MLPSERVE_DRAIN_SECONDS"])
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pre_stop + drain + graceful
    # A readiness prober sees the 503 while the pod still serves (load balancers outside
    # Kubernetes' endpoint removal, and make docker-check, rely on it).
    ready = container["readinessProbe"]
    assert drain >= ready["periodSeconds"] * ready["failureThreshold"]


@pytest.mark.parametrize("name", WORKLOADS)
def test_resources_cover_the_measured_memory(name: str) -> None:
    pod, container, env, _ = _workload(name)
    workers = int(env["WEB_CONCURRENCY"])
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert _mib(requests["memory"]) >= RSS_MASTER + workers * RSS_WORKER
    tmp = next(v["emptyDir"] for v in pod["volumes"] if v["name"] == "tmp")
    # Every worker decoding a largest image at once, and a full memory-backed emptyDir.
    peak = RSS_MASTER + workers * RSS_WORKER_PEAK + _mib(tmp["sizeLimit"])
    assert _mib(limits["memory"]) >= peak
    assert int(limits["cpu"]) == workers  # a worker process uses at most one core (one BLAS thread)


def test_inferenceservice_speaks_v2_on_kserve_port() -> None:
    _, container, env, _ = _workload("inferenceservice")
    assert env["PROTOCOL"] == "v2" and env["PORT"] == "8080"
    assert container["name"] == "kserve-container"


def test_service_hpa_and_pdb_select_the_deployment() -> None:
    docs = {d["kind"]: d for d in _objects(K8S / "base" / "kustomization.yaml")}
    deployment = docs["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (
        deployment["spec"]["selector"]["matchLabels"],
        docs["Service"]["spec"]["selector"],
        docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
    (port,) = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    assert hpa["minReplicas"] > docs["PodDisruptionBudget"]["spec"]["maxUnavailable"]


def test_model_volume_overlay_mounts_over_the_image_model_dir() -> None:
    (patch,) = _load(OVERLAY / "deployment-models.yaml")
    pod = patch["spec"]["template"]["spec"]
    (mount,) = pod["containers"][0]["volumeMounts"]
    assert mount["mountPath"] == _dockerfile()[0]["MLPSERVE_MODEL_DIR"] and mount["readOnly"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    (pvc,) = _load(OVERLAY / "pvc.yaml")
    assert volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
