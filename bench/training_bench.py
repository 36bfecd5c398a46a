"""Training section: one epoch of `mnist-seed` — ours, the reference, PyTorch, the sgemm ceiling.

Each implementation runs in its own child process, all with the same BLAS/OpenMP thread count, in
alternated passes, at every thread count of the settings (1: what `make train` uses, immune to a
busy neighbour; 2: the machine's cores, fastest when it is idle). The time-to-accuracy of the
`mnist` preset is read from the per-epoch history in the shipped model card (re-training it would
take most of the bench's time budget).
"""

import json
import sys
from typing import Any

from bench.data import mnist_train_path
from bench.envs import venv_python
from bench.models import MODELS
from bench.proc import run_json, single_thread_env
from bench.settings import Settings

TARGETS = (0.98, 0.99)


def _commands(settings: Settings, data: str, threads: int) -> dict[str, Any]:
    """argv builders per implementation (built lazily: the torch venv may need installing)."""
    main = [sys.executable, "-m", "bench.epoch"]
    part = ["--batches", str(settings.train_batches)] if settings.train_batches else []
    return {
        "ours": lambda: [*main, "ours", "--data", data, *part],
        "reference": lambda: [*main, "reference", "--data", data, *part],
        "torch": lambda: [
            str(venv_python("torch")),
            "-m",
            "bench.torch_peer",
            "epoch",
            "--data",
            data,
            "--threads",
            str(threads),
            *part,
        ],
        "sgemm": lambda: [*main, "sgemm", "--data", data, *part],
    }


def time_to_accuracy() -> dict[str, Any]:
    """Cumulative training seconds (and epochs) until the `mnist` run first reached each target."""
    card_path = MODELS / "mnist.json"
    if not card_path.exists():
        return {"error": "models/mnist.json not there yet: no shipped mnist run to read"}
    card = json.loads(card_path.read_text())
    rows = card["training"]["history"]
    out: dict[str, Any] = {
        "source": f"models/mnist.json (version {card['version']}), training.history",
        "epochs_run": len(rows),
        "total_seconds": card["training"]["seconds"],
        "best_val_accuracy": max(r["val_accuracy"] for r in rows),
        "test_accuracy": card["metrics"].get("test_accuracy"),
        "blas_threads": card["training"].get("blas_threads", "unknown"),
    }
    for target in TARGETS:
        elapsed, reached = 0.0, None
        for row in rows:
            elapsed += row["seconds"]
            if row["val_accuracy"] >= target:
                reached = {"seconds": elapsed, "epoch": row["epoch"]}
                break
        out[f"to_{target:.2f}"] = reached
    return out


def run_training(settings: Settings) -> dict[str, Any]:
    """Epoch timings per thread count and implementation (one result or error per pass), and
    the time-to-accuracy."""
    data = str(mnist_train_path())
    runs: dict[str, dict[str, list]] = {}
    for n in range(settings.train_passes):
        for threads in settings.train_threads:
            env = single_thread_env(threads)
            for name, argv in _commands(settings, data, threads).items():
                print(f"[bench] training pass {n + 1}: {name}, {threads} thread(s)", flush=True)
                per = runs.setdefault(str(threads), {}).setdefault(name, [])
                try:
                    per.append(run_json(argv(), env, timeout=300))
                except Exception as exc:  # recorded; the other implementations still run
                    per.append({"error": f"{type(exc).__name__}: {exc}"})
    try:
        tta = time_to_accuracy()
    except (KeyError, ValueError) as exc:
        tta = {"error": f"model card unreadable: {type(exc).__name__}: {exc}"}
    return {"runs": runs, "time_to_accuracy": tta, "profile": _profile(settings, data)}


def _profile(settings: Settings, data: str) -> dict[str, Any]:
    """cProfile of one epoch of ours at the headline thread count (2 when measured)."""
    threads = 2 if 2 in settings.train_threads else settings.train_threads[0]
    part = ["--batches", str(settings.train_batches)] if settings.train_batches else []
    print(f"[bench] training profile: ours, {threads} thread(s)", flush=True)
    argv = [sys.executable, "-m", "bench.epoch", "profile", "--data", data, *part]
    try:
        return {"threads": threads, **run_json(argv, single_thread_env(threads), timeout=300)}
    except Exception as exc:  # recorded; the timings above stand on their own
        return {"error": f"{type(exc).__name__}: {exc}"}
