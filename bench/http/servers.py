"""The servers under test: how to start each, probe it, and speak its request format.

One `ServerSpec` per server, so the runner treats them all alike: start in a new process group,
wait for readiness, check one answer, load it, read /proc, stop the group. Every server binds
127.0.0.1 only, runs 2 worker processes (MLServer: see `mlserver_spec`) and 1 BLAS thread.
"""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.envs import venv_python
from bench.http import payloads
from bench.proc import REPO, kill_group, single_thread_env


@dataclass(frozen=True)
class Launch:
    """What a server needs to start: its port, the model file and name, a scratch folder."""

    port: int
    model_path: Path
    model_dir: Path
    model_name: str
    workdir: Path


@dataclass(frozen=True)
class ServerSpec:
    """How to run and talk to one server."""

    name: str
    title: str
    command: Callable[[Launch], list[str]]
    ready_path: Callable[[Launch], str]
    predict_path: Callable[[Launch], str]
    encode: Callable[[list[list[int]]], bytes]
    labels: Callable[[dict], list[int]] | None  # None: a constant answer, nothing to check
    env: Callable[[Launch], dict[str, str]] = field(default=lambda launch: {})
    payloads: tuple[str, ...] = ("single", "batch64")  # the bodies worth sending it
    connections: tuple[int, ...] | None = None  # the load points' connections (None: all)
    headers: Callable[[bytes], dict[str, str]] = field(
        default=lambda body: {"Content-Type": "application/json"}
    )
    cwd: Path = REPO  # where it starts (another build of ours: that build's tree)


def _gunicorn(app: str, root: Path = REPO) -> Callable[[Launch], list[str]]:
    return lambda launch: [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(root / "service" / "gunicorn.conf.py"),
        app,
    ]


def _gunicorn_env(launch: Launch) -> dict[str, str]:
    return {
        "HOST": "127.0.0.1",
        "PORT": str(launch.port),
        "WEB_CONCURRENCY": "2",
        "MLPSERVE_MODEL_DIR": str(launch.model_dir),
        "MLPSERVE_REQUIRED_MODELS": launch.model_name,  # ready means the served model is in
        "MLPSERVE_DRAIN_SECONDS": "0",  # stop at once; the front section measures the drain
    }


def _kserve_command(launch: Launch) -> list[str]:
    return [
        str(venv_python("kserve")),
        "-m",
        "bench.peers.kserve_server",
        "--model_name",
        launch.model_name,
        "--model_path",
        str(launch.model_path),
        "--http_port",
        str(launch.port),
        "--workers",
        "2",
        "--enable_grpc",
        "false",
        "--enable_latency_logging",
        "false",
    ]


def _mlserver_command(parallel_workers: int) -> Callable[[Launch], list[str]]:
    def command(launch: Launch) -> list[str]:
        root = launch.workdir / f"mlserver-{parallel_workers}"
        model = root / launch.model_name
        model.mkdir(parents=True, exist_ok=True)
        settings = {
            "host": "127.0.0.1",
            "http_port": launch.port,
            "grpc_port": launch.port + 1,
            "metrics_port": launch.port + 2,
            "metrics_endpoint": None,
            "parallel_workers": parallel_workers,
            "debug": False,
        }
        (root / "settings.json").write_text(json.dumps(settings))
        model_settings = {
            "name": launch.model_name,
            "implementation": "bench.peers.mlserver_runtime.NumpyMLPRuntime",
            "parameters": {"uri": str(launch.model_path)},
        }
        (model / "model-settings.json").write_text(json.dumps(model_settings))
        return [str(venv_python("mlserver").parent / "mlserver"), "start", str(root)]

    return command


OURS = ServerSpec(
    name="ours",
    title="mlpserve (ours)",
    command=_gunicorn("service:create_app()"),
    env=_gunicorn_env,
    ready_path=lambda launch: "/ready",
    predict_path=lambda launch: "/predict",
    encode=payloads.images_json,
    labels=payloads.prediction_labels,
)
OURS_NO_METRICS = replace(
    OURS,
    name="ours-no-metrics",
    title="mlpserve (ours), MLPSERVE_METRICS=0",
    env=lambda launch: {**_gunicorn_env(launch), "MLPSERVE_METRICS": "0"},
    payloads=("single",),
    connections=(8,),
)
BARE = ServerSpec(
    name="bare",
    title="bare Flask (ceiling)",
    command=_gunicorn("bench.peers.bare:create_app()"),
    env=_gunicorn_env,
    ready_path=lambda launch: "/ready",
    predict_path=lambda launch: "/predict",
    encode=payloads.images_json,
    labels=None,
    payloads=("single",),  # it never reads the body: a batch would measure nothing new
)
OURS_V2 = replace(
    OURS,
    name="ours-v2",
    title="mlpserve (ours) V2 JSON",
    ready_path=lambda launch: f"/v2/models/{launch.model_name}/ready",
    predict_path=lambda launch: f"/v2/models/{launch.model_name}/infer",
    encode=payloads.v2_json,
    labels=payloads.v2_labels,
    payloads=("single",),
    connections=(8,),
)
OURS_V2_BINARY = replace(
    OURS_V2,
    name="ours-v2-binary",
    title="mlpserve (ours) V2 binary tensors",
    encode=payloads.v2_binary,
    payloads=("single", "batch64"),
    headers=payloads.v2_binary_headers,
)
KSERVE = ServerSpec(
    name="kserve",
    title="KServe 0.21 V1",
    command=_kserve_command,
    ready_path=lambda launch: f"/v1/models/{launch.model_name}",
    predict_path=lambda launch: f"/v1/models/{launch.model_name}:predict",
    encode=payloads.instances_json,
    labels=payloads.prediction_labels,
)

KSERVE_V2 = replace(
    OURS_V2,
    name="kserve-v2",
    title="KServe 0.21 V2",
    command=_kserve_command,
    env=lambda launch: {},
)


def build_spec(name: str, title: str, root: Path) -> ServerSpec:
    """Our service as built from another tree (an earlier commit extracted under bench/.work)."""
    return ServerSpec(
        name=name,
        title=title,
        command=_gunicorn("service:create_app()", root),
        env=lambda launch: {**_gunicorn_env(launch), "PYTHONPATH": str(root)},
        ready_path=lambda launch: "/ready",
        predict_path=lambda launch: "/predict",
        encode=payloads.images_json,
        labels=payloads.prediction_labels,
        cwd=root,
    )


def serving_folder(folder: Path, name: str, title: str) -> ServerSpec:
    """Our service serving the model files of `folder` instead of the launch's (same name)."""

    def env(launch: Launch) -> dict[str, str]:
        return _gunicorn_env(replace(launch, model_dir=folder))

    return replace(OURS, name=name, title=title, env=env, labels=None)  # labels: not checked


def mlserver_spec(parallel_workers: int) -> ServerSpec:
    """MLServer with `parallel_workers` inference processes (0: inference in the main process)."""
    return ServerSpec(
        name=f"mlserver-pw{parallel_workers}",
        title=f"MLServer 1.7 V2 (parallel_workers={parallel_workers})",
        command=_mlserver_command(parallel_workers),
        ready_path=lambda launch: f"/v2/models/{launch.model_name}/ready",
        predict_path=lambda launch: f"/v2/models/{launch.model_name}/infer",
        encode=payloads.v2_json,
        labels=payloads.v2_labels,
    )


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> tuple:
    """(status, parsed JSON or None) of one request; status 0 when the connection fails.

    A V2 answer with binary outputs is parsed as its JSON part, with the bytes after it under
    `_binary`."""
    req = urllib.request.Request(url, data=body, method=method)
    for key, value in (headers or {"Content-Type": "application/json"}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
            size = resp.headers.get("Inference-Header-Content-Length")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None
    try:
        if size is None:
            return status, json.loads(raw)
        return status, {**json.loads(raw[: int(size)]), "_binary": raw[int(size) :]}
    except ValueError:
        return status, None


class Running:
    """A started server: its process group, its URLs, and how long it took to become ready."""

    def __init__(self, spec: ServerSpec, launch: Launch, log: Path, timeout: float) -> None:
        self.spec = spec
        self.launch = launch
        self.base = f"http://127.0.0.1:{launch.port}"
        env = single_thread_env(1, **spec.env(launch))
        t0 = time.perf_counter()
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                spec.command(launch),
                cwd=spec.cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.ready_seconds = self._wait_ready(t0, timeout, log)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, t0: float, timeout: float, log: Path) -> float:
        url = self.base + self.spec.ready_path(self.launch)
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-5:])
                raise RuntimeError(f"{self.spec.name} exited {self.proc.returncode}: {tail}")
            if http("GET", url, timeout=1.0)[0] == 200:
                return time.perf_counter() - t0
            time.sleep(0.01)
        raise RuntimeError(f"{self.spec.name} not ready after {timeout:.0f} s")

    @property
    def predict_url(self) -> str:
        """Full URL of the prediction endpoint."""
        return self.base + self.spec.predict_path(self.launch)

    def stop(self) -> None:
        """Stop the server's whole process group."""
        kill_group(self.proc)
