"""The HTTP benchmark: every server, every load point, in alternated passes (A B C D A B C D).

For each pass and server: start it (start-to-ready time), make sure it listens on loopback only,
check one single-image and one batch answer for the right labels, warm it up, then run wrk at
each point while reading the server's CPU time from /proc, read its memory after the load, and
stop its process group. A server that fails is recorded with the reason and the run goes on.
"""

import random
import socket
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.http.servers import Launch, Running, ServerSpec, http
from bench.http.wrk import run_wrk
from bench.proc import cpu_seconds, is_loopback, listening_addresses, memory_mib, process_tree


@dataclass(frozen=True)
class HttpPlan:
    """What to measure: servers, (payload, connections) points, seconds per point, passes."""

    specs: list[ServerSpec]
    points: list[tuple[str, int]]
    seconds: float
    warmup: float
    passes: int
    ready_timeout: float = 90.0


def free_port() -> int:
    """A loopback port, with the next two, that a server binding with SO_REUSEADDR can take.

    Drawn below the kernel's ephemeral range (32768-60999), where wrk's tens of thousands of
    client connections would otherwise leave ports in TIME_WAIT; MLServer takes the next two for
    gRPC and metrics.
    """
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        try:
            for candidate in (port, port + 1, port + 2):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", candidate))
            return port
        except OSError:
            continue
    raise RuntimeError("no free loopback port triple found in 20000-32000")


def _check(running: Running, bodies: dict[str, Path], expected: list[int]) -> dict[str, Any]:
    """POST one single-image and one batch body; compare the labels with the expected ones."""
    out: dict[str, Any] = {}
    for payload, want in (("single", expected[:1]), ("batch64", expected)):
        status, body = http("POST", running.predict_url, bodies[payload].read_bytes(), 10.0)
        got = running.spec.labels(body) if running.spec.labels and body else None
        ok = status == 200 and (running.spec.labels is None or got == want)
        out[payload] = {"status": status, "labels": got, "expected": want, "ok": ok}
    return out


def load_point(
    running: Running, wrk: str, body: Path, conns: int, seconds: float, close: bool = False
) -> dict:
    """One wrk run plus the server's CPU seconds per request over it (all processes of the tree)."""
    pids = process_tree(running.proc.pid)
    before = {pid: cpu_seconds([pid]) for pid in pids}
    result = run_wrk(wrk, running.predict_url, body, conns, seconds, close)
    after = {pid: cpu_seconds([pid]) for pid in pids}
    server_cpu = sum(after[p] - before[p] for p in pids)
    result["server_cpu_seconds"] = server_cpu
    result["server_cpu_ms_per_request"] = 1e3 * server_cpu / max(1, result["requests"])
    result["busy_pids"] = [p for p in pids if after[p] - before[p] > 0.05 * seconds]
    return result


def gunicorn_worker(log: Path) -> str | None:
    """The worker class a gunicorn server logged at start (`Using worker: sync`), if any."""
    for line in log.read_text(errors="replace").splitlines():
        if "Using worker: " in line:
            return line.rsplit("Using worker: ", 1)[1].strip()
    return None


def _one_server(
    spec: ServerSpec, launch: Launch, plan: HttpPlan, wrk: str, bodies: dict, expected: list
) -> dict[str, Any]:
    """Start, check, load and stop one server once; the figures of this pass."""
    log = launch.workdir / f"{spec.name}.log"
    running = Running(spec, launch, log, plan.ready_timeout)
    try:
        tree = process_tree(running.proc.pid)
        listens = listening_addresses(tree)
        exposed = [a for a in listens if not is_loopback(a)]
        if exposed:
            raise RuntimeError(f"listens beyond loopback: {exposed}; stopped")
        record: dict[str, Any] = {
            "ready_seconds": running.ready_seconds,
            "gunicorn_worker": gunicorn_worker(log),
            "listening": listens,
            "check": _check(running, bodies, expected),
            "points": [],
        }
        run_wrk(wrk, running.predict_url, bodies["single"], 8, plan.warmup)
        busy: set[int] = set()
        for payload, conns in plan.points:
            if payload not in spec.payloads:
                continue
            point = load_point(running, wrk, bodies[payload], conns, plan.seconds)
            point.update(payload=payload, connections=conns)
            busy.update(point["busy_pids"])
            record["points"].append(point)
        record["memory"] = [
            {"pid": pid, "worker": pid in busy, **memory_mib(pid)}
            for pid in process_tree(running.proc.pid)
        ]
        return record
    finally:
        running.stop()


def run_http(
    plan: HttpPlan,
    wrk: str,
    model_path: Path,
    model_dir: Path,
    work: Path,
    images: list[list[int]],
    expected: list[int],
) -> dict[str, Any]:
    """Run the plan; results per server: one record per pass, or the reason a pass failed."""
    work.mkdir(parents=True, exist_ok=True)
    bodies = {}
    for spec in plan.specs:
        for payload, imgs in (("single", images[:1]), ("batch64", images)):
            path = work / f"body-{spec.name}-{payload}.json"
            path.write_bytes(spec.encode(imgs))
            bodies.setdefault(spec.name, {})[payload] = path
    results: dict[str, Any] = {
        spec.name: {"title": spec.title, "passes": []} for spec in plan.specs
    }
    for n in range(plan.passes):
        for spec in plan.specs:
            print(f"[bench] http pass {n + 1}/{plan.passes}: {spec.name}", flush=True)
            try:
                launch = Launch(free_port(), model_path, model_dir, model_path.stem, work)
                rec = _one_server(spec, launch, plan, wrk, bodies[spec.name], expected)
            except Exception as exc:  # one server failing must not stop the others
                traceback.print_exc()
                rec = {"error": f"{type(exc).__name__}: {exc}"}
            results[spec.name]["passes"].append(rec)
    return results
