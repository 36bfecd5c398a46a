"""HTTP section: serve the `mnist` model (shipped, else a stand-in) from every server; load it."""

from pathlib import Path
from typing import Any

import numpy as np

from bench.data import mnist_train_path
from bench.envs import wrk_binary
from bench.http import paired, servers
from bench.http.run import HttpPlan, free_port, run_http
from bench.http.servers import Launch
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
        "paired": _paired(settings, path, model_dir, work / "http", images[:1].tolist()),
        "model": {"shipped": shipped, **describe(path)},
        "payload_accuracy_vs_truth": float(np.mean(np.array(expected) == np.array(truth))),
        "points": [list(p) for p in plan.points],
        "seconds_per_point": plan.seconds,
        "passes": plan.passes,
        "servers": results,
    }


def _paired(
    settings: Settings, path: Path, model_dir: Path, work: Path, image: list[list[int]]
) -> dict[str, Any]:
    """The A/B pairs of our own variants (:mod:`bench.http.paired`); each records its failure."""
    bodies = {}
    for spec in (servers.OURS, servers.OURS_V2_BINARY):
        bodies[spec.name] = work / f"paired-{spec.name}.body"
        bodies[spec.name].write_bytes(spec.encode(image))
    launch = Launch(free_port(), path, model_dir, path.stem, work)
    rounds, seconds, wrk = settings.paired_rounds, settings.paired_seconds, wrk_binary()
    out: dict[str, Any] = {"rounds": rounds, "seconds": seconds}
    try:
        specs = (servers.OURS_V2_BINARY, servers.OURS)
        out["v2_binary_vs_predict"] = paired.route_pairs(
            specs, (bodies[specs[0].name], bodies[specs[1].name]), launch, wrk, rounds, seconds
        )
    except Exception as exc:  # recorded; the other pair still runs
        out["v2_binary_vs_predict"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        out["metrics_on_vs_off"] = paired.launch_pairs(
            (servers.OURS, servers.OURS_NO_METRICS), bodies[servers.OURS.name], launch, wrk,
            rounds, seconds, settings.http_warmup,
        )  # fmt: skip
    except Exception as exc:  # recorded
        out["metrics_on_vs_off"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
