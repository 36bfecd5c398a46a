"""Front section (issue 8): the connection model, slow clients, drain, worker kill, hot swap.

`python -m bench --sections front` runs it alone (its figures are merged into the last full
run's results). Throughput of one-image JSON `/predict` at 8 connections, keep-alive and not,
in alternated passes over three servers under the same load: ours; the sync-worker build of the
commit before issue 8 (`SYNC_COMMIT`, extracted with `git archive` under bench/.work, never
committed); bare Flask under our gunicorn config (the ceiling). Then, against ours only: 256
slow connections while probes run, SIGTERM under load, SIGKILL of a worker under load, and a hot
swap of the model file under load.
"""

import dataclasses
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.envs import wrk_binary
from bench.front.swap import run_swap
from bench.http import servers
from bench.http.run import free_port, load_point
from bench.http.section import payload_images, served_model
from bench.http.servers import Launch, Running, ServerSpec
from bench.http.wrk import run_wrk
from bench.proc import REPO, run_json, single_thread_env
from bench.settings import Settings
from service.drain import DEFAULT_DRAIN_SECONDS

SYNC_COMMIT = "c22a1fa"  # the last commit before issue 8: 2 sync workers, Connection: close


def sync_build(work: Path) -> Path:
    """The tree of `SYNC_COMMIT`, extracted once under `work` (git archive, no worktree)."""
    root = work / f"build-{SYNC_COMMIT}"
    if not (root / "service" / "gunicorn.conf.py").exists():
        root.mkdir(parents=True, exist_ok=True)
        archive = work / f"build-{SYNC_COMMIT}.tar"
        with archive.open("wb") as out:
            subprocess.run(
                ["git", "-C", str(REPO), "archive", SYNC_COMMIT, "service"],
                stdout=out,
                check=True,
                timeout=60,
            )
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    return root


def _timeouts(log: Path) -> int:
    """Worker timeouts gunicorn logged (`WORKER TIMEOUT`) in a server's log."""
    return log.read_text(errors="replace").count("WORKER TIMEOUT") if log.exists() else 0


class _Server:
    """One started server of ours for one scenario; its log, stopped on exit."""

    def __init__(self, spec: ServerSpec, model: tuple[Path, Path], work: Path, tag: str):
        path, model_dir = model
        self.launch = Launch(free_port(), path, model_dir, path.stem, work)
        self.log = work / f"front-{tag}.log"
        self.log.unlink(missing_ok=True)
        self.spec = spec

    def __enter__(self) -> Running:
        self.running = Running(self.spec, self.launch, self.log, 90.0)
        return self.running

    def __exit__(self, *exc) -> None:
        self.running.stop()


def _throughput(settings: Settings, specs, model, work: Path, body: Path) -> dict[str, Any]:
    """Alternated passes: every server at 8 connections, keep-alive then `Connection: close`.

    The order of the servers rotates from pass to pass, so that no server is always the first
    to run on a machine back from idle, nor always the one after a given closing run, whose
    TIME_WAIT sockets cost the next runs' CPU for a minute. By hand, bare Flask's server CPU per
    closing request: 0.67 ms on the first start after an idle minute, 0.48 ms on a later start,
    0.60 ms two starts later with 20,000 sockets in TIME_WAIT.
    """
    wrk = wrk_binary()
    out: dict[str, Any] = {spec.name: {"title": spec.title, "passes": []} for spec in specs}
    for n in range(settings.front_passes):
        k = n % len(specs)
        for spec in [*specs[k:], *specs[:k]]:
            print(f"[bench] front throughput pass {n + 1}: {spec.name}", flush=True)
            try:
                with _Server(spec, model, work, f"rps-{spec.name}") as running:
                    run_wrk(wrk, running.predict_url, body, 8, settings.http_warmup)
                    rec = {
                        mode: load_point(
                            running, wrk, body, 8, settings.front_seconds, mode == "close"
                        )
                        for mode in ("keepalive", "close")
                    }
                rec["worker_timeouts"] = _timeouts(work / f"front-rps-{spec.name}.log")
            except Exception as exc:  # one server failing must not stop the others
                traceback.print_exc()
                rec = {"error": f"{type(exc).__name__}: {exc}"}
            out[spec.name]["passes"].append(rec)
    return out


def _child(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    argv = [sys.executable, "-m", module, *args]
    return run_json(argv, single_thread_env(1), timeout)


def _scenario(name: str, fn) -> dict[str, Any]:
    print(f"[bench] front {name}", flush=True)
    try:
        return fn()
    except Exception as exc:
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_front_section(settings: Settings, work: Path) -> dict[str, Any]:
    """Every figure of the front section; a failed scenario records its reason."""
    work = work / "front"
    work.mkdir(parents=True, exist_ok=True)
    path, model_dir, shipped = served_model(work)
    model = (path, model_dir)
    images, _ = payload_images()
    body = work / "body-single.json"
    body.write_bytes(servers.OURS.encode(images[:1].tolist()))
    sync = servers.build_spec("sync", f"sync-worker build ({SYNC_COMMIT})", sync_build(work))
    specs = [servers.OURS, sync, servers.BARE]
    result: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shipped_model": shipped,
        "sync_commit": SYNC_COMMIT,
    }
    result["throughput"] = _throughput(settings, specs, model, work, body)
    ours = servers.OURS

    def slow(spec: ServerSpec) -> dict[str, Any]:
        with _Server(spec, model, work, f"slow-{spec.name}") as running:
            args = ["--port", str(running.launch.port), "--body", str(body)]
            args += ["--conns", "256", "--seconds", str(settings.slow_seconds)]
            out = _child("bench.front.slow", args, settings.slow_seconds + 60)
        out["worker_timeouts"] = _timeouts(work / f"front-slow-{spec.name}.log")
        return out

    def fault(scenario: str) -> dict[str, Any]:
        spec = ours
        if scenario == "drain":  # the shipped default drain, not the bench's 0
            env = {"MLPSERVE_DRAIN_SECONDS": str(DEFAULT_DRAIN_SECONDS)}
            spec = dataclasses.replace(ours, env=lambda launch: {**ours.env(launch), **env})
        with _Server(spec, model, work, scenario) as running:
            args = [scenario, "--port", str(running.launch.port), "--body", str(body)]
            args += ["--master", str(running.proc.pid)]
            return _child("bench.front.faults", args, 120)

    result["slow"] = _scenario("slow connections", lambda: slow(ours))
    # The same window against the sync build: what the slow clients did before (context only).
    result["slow_sync"] = _scenario("slow connections, sync build", lambda: slow(sync))
    result["drain"] = _scenario("drain", lambda: fault("drain"))
    result["kill"] = _scenario("worker kill", lambda: fault("kill"))
    result["swap"] = _scenario("hot swap", lambda: run_swap(ours, path, work, body))
    return result
