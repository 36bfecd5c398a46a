"""One training run end to end: data -> preprocessing -> fit -> test metrics -> artifacts.

Nothing is written until training has finished, so a diverged run leaves no artifact behind.
"""

import dataclasses
import math
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np

from training import plots
from training.config import TrainConfig, resolved_init, validate
from training.datasets import LOADERS, REGRESSION, Dataset, regression_truth
from training.export import Artifact, export, sha256_file, write_card
from training.initializers import Random
from training.metrics import classification_report, regression_report
from training.model import MLP
from training.preprocessing import Preprocessing, fit_preprocessing
from training.train import History, fit

LIBRARIES = ("numpy", "scikit-learn", "matplotlib", "tqdm")


@dataclass
class RunResult:
    """What :func:`run` produced."""

    artifact: Artifact
    history: History
    card: dict
    npz_path: Path
    card_path: Path


def targets(
    data: Dataset, y: np.ndarray, prep: Preprocessing, smoothing: float = 0.0
) -> np.ndarray:
    """Training targets of shape (n, k), float32: one-hot (smoothed), 0/1, or standardised."""
    if data.labels is None:
        return prep.targets(y)
    if len(data.labels) == 2:
        return y.reshape(-1, 1).astype(np.float32)
    k = len(data.labels)
    T = np.full((len(y), k), smoothing / k, np.float32)  # (n, k)
    T[np.arange(len(y)), y] += 1.0 - smoothing
    return T


def random_streams(config: TrainConfig) -> tuple[Random, Random]:
    """The generators of the initial weights and of the training loop (``config.rng``).

    ``pcg64``: two independent Generators. ``legacy``: one ``RandomState(seed)`` for both, so the
    loop's shuffles continue the stream right after the weights, as after ``np.random.seed``.
    """
    if config.rng == "legacy":
        legacy = np.random.RandomState(config.seed)
        return legacy, legacy
    return np.random.default_rng(config.seed), np.random.default_rng(config.seed + 1)


def build_model(config: TrainConfig, n_in: int, n_out: int, rng: Random | None = None) -> MLP:
    """A freshly initialised network for ``config``, its weights drawn from ``rng`` (by default
    the first of :func:`random_streams`)."""
    rng = random_streams(config)[0] if rng is None else rng
    sizes = [n_in, *config.hidden, n_out]
    activations = [config.activation] * len(config.hidden) + [config.output]
    return MLP.initialise(sizes, activations, resolved_init(config), rng, np.dtype(config.dtype))


def _json_safe(rows: list[dict]) -> list[dict]:
    """History rows with NaN replaced by None and floats rounded, for the JSON card."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else round(v, 6) for k, v in r.items()}
        for r in rows
    ]


def run(config: TrainConfig, out_dir: str | Path = "models", progress: bool = True) -> RunResult:
    """Train ``config`` and write ``NAME.npz``, ``NAME.json`` and plots into ``out_dir``.

    Parameters
    ----------
    config : TrainConfig
    out_dir : str or Path
        Folder of the artifacts (``models/`` for shipped models; a temporary folder in tests).
    progress : bool
        Show the tqdm progress bar and per-epoch lines.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Invalid configuration (before any data is loaded).
    TrainingDivergedError
        Non-finite loss; nothing is written.
    """
    validate(config)
    out_dir = Path(out_dir)
    data = LOADERS[config.dataset](config)
    prep = fit_preprocessing(data)
    dtype = np.dtype(config.dtype).type
    X = prep.inputs(data.X_train, dtype)  # (n, d)
    T = targets(data, data.y_train, prep, config.label_smoothing)
    # Without a validation split, the test set is measured after each epoch, for the record only.
    monitor = "val" if len(data.X_val) else "test"
    X_mon, y_mon = (data.X_val, data.y_val) if monitor == "val" else (data.X_test, data.y_test)
    X_val, T_val = prep.inputs(X_mon, dtype), targets(data, y_mon, prep)
    init_rng, loop_rng = random_streams(config)
    model = build_model(config, X.shape[1], T.shape[1], init_rng)
    image_shape = data.input_shape if data.input_kind == "image" else None
    started = time.perf_counter()
    history = fit(model, X, T, X_val, T_val, config, image_shape, progress, loop_rng, monitor)
    seconds = time.perf_counter() - started

    artifact = Artifact(
        name=config.name,
        version=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        model=model,
        preprocessing=prep,
        input_kind=data.input_kind,
        input_shape=data.input_shape,
        input_range=data.input_range,
        labels=data.labels,
    )
    out = artifact.output(data.X_test)  # (n_test, k)
    if data.labels is None:
        metrics = regression_report(data.y_test, out, data.provenance["noise_var"])
    else:
        pred = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] > 0.5).astype(np.int64)
        metrics = classification_report(data.y_test, pred, len(data.labels))
    if monitor == "val":
        best = history.rows[history.best_epoch - 1]
        metrics["val_loss"] = best["val_loss"]
        if data.labels is not None:
            metrics["val_accuracy"] = best["val_accuracy"]

    npz_path, card_path = out_dir / f"{config.name}.npz", out_dir / f"{config.name}.json"
    export(artifact, npz_path)
    epoch_seconds = history.column("seconds")
    card = {
        "name": config.name,
        "version": artifact.version,
        "description": config.description,
        "task": artifact.task,
        "format_version": 1,
        "layer_sizes": model.layer_sizes,
        "activations": model.activations,
        "n_params": model.n_params,
        "config": dataclasses.asdict(config) | {"init_resolved": resolved_init(config)},
        "data": data.provenance,
        "metrics": metrics,
        "training": {
            "seconds": round(seconds, 2),
            "epochs_run": len(history.rows),
            "best_epoch": history.best_epoch,
            "kept": "best validation epoch" if monitor == "val" else "last epoch",
            "stopped_early": history.stopped_early,
            "mean_epoch_seconds": round(float(np.mean(epoch_seconds)), 4),
            "min_epoch_seconds": round(float(np.min(epoch_seconds)), 4),
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
            "cpu_count": os.cpu_count(),
            "history": _json_safe(history.rows),
        },
        "libraries": {"python": platform.python_version()}
        | {name: package_version(name) for name in LIBRARIES},
        "npz": npz_path.name,
        "npz_bytes": npz_path.stat().st_size,
        "npz_sha256": sha256_file(npz_path),
    }
    write_card(card_path, card)
    _plot(config, data, artifact, history, metrics, out_dir)
    return RunResult(artifact, history, card, npz_path, card_path)


def _plot(
    config: TrainConfig,
    data: Dataset,
    artifact: Artifact,
    history: History,
    metrics: dict,
    out_dir: Path,
) -> None:
    """Learning curves for every model; the fit (regression) or confusion matrix (multiclass)."""
    plots.learning_curves(history, config.name, out_dir / f"{config.name}.curves.png")
    if data.labels is None:
        lo, hi = REGRESSION["x_range"]
        grid = np.linspace(lo, hi, 400)[:, None]  # (400, 1)
        path = out_dir / f"{config.name}.fit.png"
        pred = artifact.output(grid)
        plots.regression_fit(data.X_test, data.y_test, grid, pred, regression_truth(grid), path)
    elif len(data.labels) > 2:
        title = f"{config.name}: test accuracy {metrics['test_accuracy']:.2%}"
        cm = np.array(metrics["confusion_matrix"])
        plots.confusion(cm, data.labels, title, out_dir / f"{config.name}.confusion.png")
