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


def run_http_section(settings: Settings, work: Path) -> dict[str, Any]:
    """The plan for `settings`, 64 MNIST images as the payload, results per server."""
    path, shipped = model_path("mnist", work)
    model_dir = MODELS if shipped else path.parent  # ours loads every model of its folder
    with np.load(mnist_train_path()) as d:
        images = d["x"][:64].astype(np.int64)
        truth = d["y"][:64].tolist()
    expected = [p["label"] for p in NumpyMLP(path).predictions(images)]
    specs = [servers.OURS, servers.BARE, servers.KSERVE]
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
