"""Matplotlib (Agg) figures: learning curves, the regression fit, the confusion matrix."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from training.train import History


def learning_curves(history: History, title: str, path: Path) -> None:
    """Loss (and accuracy, for classifiers) per epoch, train vs validation."""
    epochs = history.column("epoch")
    key = history.monitor  # "val", or "test" when there is no validation split
    label = {"val": "validation", "test": "test (not used for choices)"}[key]
    accuracy = not np.isnan(history.column(f"{key}_accuracy")[0])
    fig, axes = plt.subplots(1, 2 if accuracy else 1, figsize=(10 if accuracy else 5, 3.6))
    axes = np.atleast_1d(axes)
    axes[0].plot(epochs, history.column("train_loss"), label="train")
    axes[0].plot(epochs, history.column(f"{key}_loss"), label=label)
    axes[0].set(xlabel="epoch", ylabel="loss", yscale="log", title=f"{title}: loss")
    if accuracy:
        axes[1].plot(epochs, history.column("train_accuracy"), label="train")
        axes[1].plot(epochs, history.column(f"{key}_accuracy"), label=label)
        axes[1].set(xlabel="epoch", ylabel="accuracy", title=f"{title}: accuracy")
        low = min(history.column(f"{key}_accuracy")[len(epochs) // 5 :] or [0.9])
        axes[1].set_ylim(max(0.0, low - 0.01), 1.0)
    for ax in axes:
        ax.axvline(history.best_epoch, color="grey", ls=":", lw=1, label="kept")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def regression_fit(
    x: np.ndarray, y: np.ndarray, grid: np.ndarray, pred: np.ndarray, truth: np.ndarray, path: Path
) -> None:
    """Test points, the true function and the network's prediction over the input range."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x, y, s=4, alpha=0.3, color="grey", label="test data")
    ax.plot(grid, truth, color="black", lw=1, ls="--", label="true function")
    ax.plot(grid, pred, color="tab:red", lw=2, label="MLP")
    ax.set(xlabel="x", ylabel="y", title="regression: fit on the test set")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion(cm: np.ndarray, labels: np.ndarray, title: str, path: Path) -> None:
    """Confusion-matrix heat map with counts, rows true, columns predicted."""
    fig, ax = plt.subplots(figsize=(6, 5.4))
    ax.imshow(np.log1p(cm), cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            color = "white" if i == j else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8, color=color)
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="predicted", ylabel="true")
    ax.set_xticklabels(labels)
    ax.set_yticklabels(labels)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
