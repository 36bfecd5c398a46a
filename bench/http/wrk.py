"""Run wrk against one URL with one request body; return its figures and its own CPU time.

wrk runs on the same 2 cores as the server under test; its CPU seconds are recorded so the report
can say how much of the machine the client took.
"""

import json
import os
import resource
import subprocess
from pathlib import Path
from typing import Any

LUA = Path(__file__).with_name("post.lua")


def run_wrk(
    wrk: str, url: str, body_file: Path, connections: int, seconds: float, close: bool = False
) -> dict[str, Any]:
    """One wrk run of `seconds` at `connections` keep-alive connections (wrk's own threads: ≤ 2);
    with `close`, every request says `Connection: close` and wrk reconnects for the next one.

    Returns wrk's counts and latency percentiles (µs), plus `rps` and `client_cpu_seconds`.
    Raises RuntimeError if wrk fails or prints no result.
    """
    threads = min(2, connections)
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv,
        env={**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_CLOSE": "1" if close else ""},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_WRK "):
            out = json.loads(line.removeprefix("BENCH_WRK "))
            out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
            out["client_cpu_seconds"] = (after.ru_utime - before.ru_utime) + (
                after.ru_stime - before.ru_stime
            )
            return out
    raise RuntimeError(f"wrk exit {done.returncode}: {(done.stderr or done.stdout)[-300:]}")
