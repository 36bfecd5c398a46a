"""Measure, record and plot the robustness report (see the package docstring)."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from robustness.transforms import CONDITIONS, png
from service.budget import Limits
from service.config import DEFAULTS
from service.engine import load_model
from service.images import images_to_mnist
from training.export import write_card
from training.mnist import load_mnist

# The service's default limits on an upload request.
LIMITS = Limits(
    DEFAULTS["MAX_IMAGE_PIXELS"],
    DEFAULTS["MAX_REQUEST_PIXELS"],
    DEFAULTS["REQUEST_CPU_SECONDS"],
    DEFAULTS["REQUEST_DEADLINE_SECONDS"],
)


def read_upload(blob: bytes) -> np.ndarray:
    """What the service makes of one uploaded image file: (28, 28) float32, 0-255."""
    return images_to_mnist([blob], LIMITS)[0]


def uploads(condition: str, digits: np.ndarray) -> np.ndarray:
    """The (n, 784) float32 inputs the service derives from ``digits`` (n, 28, 28) uploaded as
    PNGs under ``condition``."""
    images = CONDITIONS[condition](digits)
    return np.stack([read_upload(png(im)) for im in images]).reshape(len(images), -1)


def measure(model_paths: list[Path], limit: int = 0) -> dict:
    """Accuracy of each model under each condition on the MNIST test set (first ``limit`` digits).

    Returns
    -------
    dict
        ``{"n": n_digits, "conditions": [...], "accuracy": {model: {condition: accuracy}}}``.
    """
    data = load_mnist()
    n = limit or len(data.x_test)
    digits, labels = data.x_test[:n].reshape(n, 28, 28), data.y_test[:n].astype(np.int64)
    models = {path.stem: load_model(path) for path in model_paths}
    accuracy: dict[str, dict[str, float]] = {name: {} for name in models}
    for condition in CONDITIONS:
        X = uploads(condition, digits)
        for name, model in models.items():
            pred = np.concatenate([model.forward(X[s : s + 1000]) for s in range(0, n, 1000)])
            accuracy[name][condition] = float(np.mean(pred.argmax(axis=1) == labels))
    return {"n": n, "conditions": list(CONDITIONS), "accuracy": accuracy}


def record(result: dict, models_dir: Path) -> None:
    """Write ``robustness.json`` and add each model's figures to its card ``NAME.json``."""
    write_card(models_dir / "robustness.json", result)
    for name, accuracy in result["accuracy"].items():
        card_path = models_dir / f"{name}.json"
        card = json.loads(card_path.read_text())
        card["robustness"] = {
            "what": "accuracy on MNIST test digits uploaded as PNG under each condition, read "
            "through service.images.images_to_mnist (python -m robustness)",
            "n": result["n"],
            "accuracy": {k: round(v, 6) for k, v in accuracy.items()},
        }
        write_card(card_path, card)


def plot(result: dict, digits: np.ndarray, path: Path) -> None:
    """Grouped bars of accuracy per condition and model, over one example digit per condition
    as uploaded and as the service reads it."""
    conditions, accuracy = result["conditions"], result["accuracy"]
    fig = plt.figure(figsize=(10, 6.2))
    ax = fig.add_axes((0.08, 0.42, 0.9, 0.5))
    width = 0.8 / len(accuracy)
    for i, (name, acc) in enumerate(accuracy.items()):
        xs = np.arange(len(conditions)) + (i - (len(accuracy) - 1) / 2) * width
        bars = ax.bar(xs, [100 * acc[c] for c in conditions], width, label=name)
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(range(len(conditions)), conditions)
    ax.set(ylabel="test accuracy (%)", ylim=(80, 100.5))
    ax.set_title(f"MNIST test digits through the upload preprocessing (n = {result['n']})")
    ax.legend(loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    for j, condition in enumerate(conditions):
        upload = CONDITIONS[condition](digits[None])[0]
        read = read_upload(png(upload))
        for row, (image, label) in enumerate(((upload, "uploaded"), (read, "read as"))):
            sub = fig.add_axes((0.08 + j * 0.18, 0.2 - row * 0.19, 0.16, 0.17))
            sub.imshow(image, cmap="gray")
            sub.set_xticks([])
            sub.set_yticks([])
            if j == 0:
                sub.set_ylabel(label)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(result: dict) -> str:
    """The report as a Markdown table, conditions as rows (for the README)."""
    names = list(result["accuracy"])
    lines = ["| condition | " + " | ".join(f"`{n}`" for n in names) + " |"]
    lines.append("| --- |" + " --- |" * len(names))
    for c in result["conditions"]:
        cells = " | ".join(f"{100 * result['accuracy'][n][c]:.2f} %" for n in names)
        lines.append(f"| {c} | {cells} |")
    return "\n".join(lines)
