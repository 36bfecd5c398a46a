"""Child process: a stop or a crash of the server under 8-connection load, request by request.

`python -m bench.front.faults drain|kill|swap --port P --master PID --body FILE`.

- `drain`: 8 keep-alive clients POST one image in a loop; a watcher polls `/ready` every 20 ms and,
  once it answers 503, the clients stop sending new requests (what a load balancer does). SIGTERM
  goes to the master after `--before` seconds of load. Reports failed requests (any answer but
  200, or a connection error), the time from SIGTERM to the first 503 and to the master's exit.
- `kill`: the same load; after `--before` seconds one worker gets SIGKILL. Reports the failed
  requests, how many connections were last served by the killed worker (each holds at most one
  request in flight: the most that may be lost), and the time until a new worker answers (probes
  on fresh connections every 10 ms; the worker's pid is in every `X-Request-ID`).
- `swap`: the same load; after `--before` seconds `--new` replaces `--live` (`os.replace`, atomic
  in one folder). Reports the failed requests, the `model_version` of every answer by time, and
  the last old answer's time after the swap.

Prints one `BENCH_RESULT` line.
"""

import argparse
import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

from bench.proc import process_tree
from bench.timing import emit

_CLIENTS = 8


class Load:
    """`_CLIENTS` threads POSTing `body` on keep-alive connections until told to stop."""

    def __init__(self, port: int, body: bytes) -> None:
        self.port, self.body = port, body
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures: list[str] = []
        self.last_pid: dict[int, int] = {}  # client -> pid of the worker that last answered it
        self.versions: list[tuple[float, str]] = []  # (monotonic time, model_version) per 200
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(_CLIENTS)]

    def _run(self, client: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        while not self.stop.is_set():
            try:
                conn.request("POST", "/predict", self.body, headers)
                resp = conn.getresponse()
                answer = resp.read()
                rid = resp.getheader("X-Request-ID", "0-0")
                version = json.loads(answer).get("model_version") if resp.status == 200 else None
                with self.lock:
                    self.last_pid[client] = int(rid.split("-")[0], 16)
                    if resp.status == 200:
                        self.ok += 1
                        self.versions.append((time.monotonic(), str(version)))
                    else:
                        self.failures.append(f"status {resp.status}")
            except (OSError, http.client.HTTPException, ValueError) as exc:
                with self.lock:
                    self.failures.append(type(exc).__name__)
                conn.close()
        conn.close()

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def result(self) -> dict:
        return {"ok": self.ok, "failed": len(self.failures), "failures": self.failures[:20]}


def _get(port: int, path: str) -> tuple[int, str]:
    """Status and X-Request-ID of one GET on a fresh connection; (0, '') if it fails."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Request-ID", "")
    except (OSError, http.client.HTTPException):
        return 0, ""
    finally:
        conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def drain(port: int, master: int, body: bytes, before: float) -> dict:
    """SIGTERM under load; clients stop once /ready says 503."""
    with Load(port, body) as load:
        time.sleep(before)
        t0 = time.monotonic()
        os.kill(master, signal.SIGTERM)
        first_503 = None
        while time.monotonic() - t0 < 10:
            if _get(port, "/ready")[0] == 503:
                first_503 = time.monotonic() - t0
                break
            time.sleep(0.02)
    exited = None
    while time.monotonic() - t0 < 60:  # the parent waits for the group, so it is reaped there
        if not _alive(master) or _zombie(master):
            exited = time.monotonic() - t0
            break
        time.sleep(0.05)
    return {**load.result(), "ready_503_after_s": first_503, "exit_after_s": exited}


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def kill(port: int, master: int, body: bytes, before: float) -> dict:
    """SIGKILL to one worker under load; the time until a new worker answers."""
    workers = process_tree(master)[1:]
    with Load(port, body) as load:
        time.sleep(before)
        victim = workers[0]
        with load.lock:
            on_victim = sum(1 for pid in load.last_pid.values() if pid == victim)
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        new_worker_after = None
        while time.monotonic() - t0 < 10:
            status, rid = _get(port, "/health")
            pid = int(rid.split("-")[0], 16) if status == 200 and "-" in rid else None
            if pid is not None and pid not in workers:
                new_worker_after = time.monotonic() - t0
                break
            time.sleep(0.01)
        time.sleep(1.0)  # load goes on a while after the new worker is in
    return {
        **load.result(),
        "connections_on_killed_worker": on_victim,
        "new_worker_serving_after_s": new_worker_after,
    }


def swap(live: Path, new: Path, port: int, body: bytes, before: float) -> dict:
    """Replace the model file under load; which version answered when."""
    with Load(port, body) as load:
        time.sleep(before)
        t0 = time.monotonic()
        os.replace(new, live)
        time.sleep(4.0)
    with load.lock:
        versions = [(t - t0, v) for t, v in load.versions]
    before_swap = {v for t, v in versions if t < 0}
    after = [(t, v) for t, v in versions if t >= 0]
    new_versions = {v for _, v in after} - before_swap
    old_after = [t for t, v in after if v in before_swap]
    return {
        **load.result(),
        "versions_before": sorted(before_swap),
        "versions_after": sorted({v for _, v in after}),
        "new_versions": sorted(new_versions),
        "last_old_answer_after_s": max(old_after) if old_after else None,
        "old_answers_after_2s": sum(1 for t in old_after if t > 2.0),
        "answers_after_swap": len(after),
    }


def main() -> None:
    """Parse the flags, run the scenario, print the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=("drain", "kill", "swap"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--master", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--before", type=float, default=2.0)
    parser.add_argument("--live", type=Path, help="swap: the model file being served")
    parser.add_argument("--new", type=Path, help="swap: its replacement, in the same folder")
    args = parser.parse_args()
    body = args.body.read_bytes()
    if args.scenario == "swap":
        emit(swap(args.live, args.new, args.port, body, args.before))
        return
    run = drain if args.scenario == "drain" else kill
    emit(run(args.port, args.master, body, args.before))


if __name__ == "__main__":
    main()
