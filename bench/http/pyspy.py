"""Where a worker of our service spends its time under load: py-spy samples, grouped by layer.

One of our gunicorn workers is sampled with `py-spy record --gil --nonblocking` while wrk drives
the service at 8 connections: only samples taken while the worker holds the GIL count, i.e. while
it runs Python (or NumPy called from it), not while it sits in a socket system call. Each sample
is charged to the layer of its innermost recognised frame (NumPy frames count for the engine or
the validation code that called them), so the shares add up to 100 %.
"""

import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench.envs import venv_python
from bench.http.servers import OURS, Launch, Running
from bench.http.wrk import run_wrk
from bench.proc import process_tree

# (start of a frame's module path, as py-spy prints it relative to sys.path, and its layer),
# tried from the innermost frame outwards.
LAYERS = (
    ("service/engine.py", "engine: forward pass and output formatting"),
    ("service/schemas.py", "validation: array conversion and range checks"),
    ("marshmallow/", "validation: marshmallow envelope"),
    ("service/access_log.py", "access log"),
    ("gunicorn/glogging.py", "access log"),
    ("logging/", "access log"),
    ("service/", "our view and middleware (body read, orjson, request id)"),
    ("flask/", "Flask and Werkzeug dispatch"),
    ("werkzeug/", "Flask and Werkzeug dispatch"),
    ("gunicorn/", "gunicorn: accept, parse, send, close"),
)


def _path(frame: str) -> str:
    """`name (path/to/file.py:line)` -> `/path/to/file.py`."""
    return "/" + frame.rpartition(" (")[2].rpartition(":")[0]


def _layer(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        path = _path(frame)
        for prefix, layer in LAYERS:
            if "/" + prefix in path:
                return layer
    return "other"


def _function(frame: str) -> str:
    """`name (path/to/file.py:line)` shortened to `name (pkg/file.py)`."""
    name = frame.partition(" (")[0]
    return f"{name} ({'/'.join(Path(_path(frame)).parts[-2:])})"


def summarise(raw: str, top: int = 12) -> dict[str, Any]:
    """Shares of samples per layer and the innermost functions with the most samples."""
    layers: Counter = Counter()
    leaves: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        layers[_layer(stack)] += n
        leaves[_function(stack.split(";")[-1])] += n
    return {
        "samples": total,
        "layers": {k: v / total for k, v in layers.most_common()} if total else {},
        "top_functions": [[k, v / total] for k, v in leaves.most_common(top)] if total else [],
    }


def profile_ours(
    launch: Launch, wrk: str, body: Path, seconds: float, ready_timeout: float = 90.0
) -> dict[str, Any]:
    """Start our service, load it at 8 connections and sample one worker for `seconds`."""
    pyspy = venv_python("tools").parent / "py-spy"
    out = launch.workdir / "pyspy-ours.txt"
    running = Running(OURS, launch, launch.workdir / "pyspy-ours.log", ready_timeout)
    try:
        worker = process_tree(running.proc.pid)[1]  # the gunicorn master's first worker
        run_wrk(wrk, running.predict_url, body, 8, 1.0)  # warm-up
        load = threading.Thread(
            target=run_wrk, args=(wrk, running.predict_url, body, 8, seconds + 2), daemon=True
        )
        load.start()
        argv = [str(pyspy), "record", "-p", str(worker), "-d", str(round(seconds))]
        argv += ["-r", "200", "--gil", "-f", "raw", "--nonblocking", "-o", str(out)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        load.join(timeout=seconds + 70)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"py-spy exit {done.returncode}: {done.stderr.strip()[-300:]}")
        return {"seconds": seconds, "connections": 8, **summarise(out.read_text())}
    finally:
        running.stop()
