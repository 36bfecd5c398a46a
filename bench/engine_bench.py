"""Engine section: batch-1 latency and batch-1024 throughput, ours vs PyTorch, 1 thread each.

Two models: the mnist-seed architecture (784-256-128-64-10 sigmoid; the shipped weights when
present, else random ones of that shape) and the shipped `mnist` model. Ours and PyTorch run in
alternated child processes (ours, torch, ours, torch ...) on the same `.npz` and the same inputs.
"""

import sys
from pathlib import Path
from typing import Any

from bench.data import mnist_train_path
from bench.envs import venv_python
from bench.models import describe, model_path
from bench.proc import run_json, single_thread_env
from bench.settings import Settings


def run_engine(settings: Settings, work: Path) -> dict[str, Any]:
    """Per model: its description and, per implementation, one result or error per pass."""
    data = str(mnist_train_path())
    env = single_thread_env(1)
    counts = [
        "--calls1",
        str(settings.engine_calls1),
        "--calls1024",
        str(settings.engine_calls1024),
        "--repeats",
        str(settings.engine_repeats),
    ]
    out: dict[str, Any] = {"threads": 1, "models": {}}
    for name in ("mnist-seed", "mnist"):
        path, shipped = model_path(name, work)
        record: dict[str, Any] = {"shipped": shipped, **describe(path), "runs": {}}
        argvs = {
            "ours": lambda p=path: [sys.executable, "-m", "bench.engine", "--model", str(p)],
            "torch": lambda p=path: [
                str(venv_python("torch")),
                "-m",
                "bench.torch_peer",
                "engine",
                "--model",
                str(p),
            ],
        }
        for n in range(settings.engine_passes):
            for impl, argv in argvs.items():
                print(f"[bench] engine {name} pass {n + 1}: {impl}", flush=True)
                try:
                    result = run_json([*argv(), "--data", data, *counts], env, timeout=300)
                except Exception as exc:  # recorded; the run goes on
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                record["runs"].setdefault(impl, []).append(result)
        out["models"][name] = record
    return out
