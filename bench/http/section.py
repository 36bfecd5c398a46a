"""HTTP section: serve the `mnist` model (shipped, else a stand-in) from every server; load it."""

from pathlib import Path
from typing import Any

import numpy as np

from bench.data import mnist_train_path
from bench.envs import wrk_binary
from bench.http import servers
from bench.http.run import HttpPlan, run_http
from bench.models import MODELS, describe, model_path
from bench.peers.forward import NumpyMLP
from bench.settings import Settings


def served_model(work: Path) -> tuple[Path, Path, bool]:
    """The `mnist` model file, the folder our service loads, and whether it is the shipped one."""
    path, shipped = model_path("mnist", work)
    return path, MODELS if shipped else path.parent, shipped  # ours loads its whole folder


def payload_images() -> tuple[np.ndarray, list[int]]:
    """The 64 MNIST images (int64 pixels, (64, 784)) sent to every server, and their labels."""
    with np.load(mnist_train_path()) as d:
        return d["x"][:64].astype(np.int64), d["y"][:64].tolist()


def run_http_section(settings: Settings, work: Path) -> dict[str, Any]:
    """The plan for `settings`, 64 MNIST images as the payload, results per server."""
    path, model_dir, shipped = served_model(work)
    images, truth = payload_images()
    expected = [p["label"] for p in NumpyMLP(path).predictions(images)]
    specs = [servers.OURS, servers.OURS_NO_METRICS, servers.OURS_V2, servers.OURS_V2_BINARY]
    specs += [servers.BARE, servers.KSERVE]
    specs += [servers.KSERVE_V2]
    specs += [servers.mlserver_spec(w) for w in settings.mlserver_workers]
    plan = HttpPlan(
        specs=specs,
        points=list(settings.http_points),
        seconds=settings.http_seconds,
        warmup=settings.http_warmup,
        passes=settings.http_passes,
    )
    results = run_http(
        plan, wrk_binary(), path, model_dir, work / "http", images.tolist(), expected
    )
    return {
        "model": {"shipped": shipped, **describe(path)},
        "payload_accuracy_vs_truth": float(np.mean(np.array(expected) == np.array(truth))),
        "points": [list(p) for p in plan.points],
        "seconds_per_point": plan.seconds,
        "passes": plan.passes,
        "servers": results,
    }
