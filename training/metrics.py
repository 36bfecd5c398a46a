"""Test-set metrics for the model card."""

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of true class ``i`` predicted as ``j``, shape (n_classes, n_classes)."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """``test_accuracy``, ``per_class_accuracy`` (recall of each class) and ``confusion_matrix``."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    return {
        "test_accuracy": float(np.mean(y_true == y_pred)),
        "test_errors": int(np.sum(y_true != y_pred)),
        "per_class_accuracy": [round(float(a), 6) for a in per_class],
        "confusion_matrix": cm.tolist(),
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray, noise_var: float) -> dict:
    """``test_mse``, ``test_mae``, the noise floor ``noise_var`` and their ratio."""
    mse = float(np.mean((y_true - y_pred) ** 2))
    return {
        "test_mse": mse,
        "test_mae": float(np.mean(np.abs(y_true - y_pred))),
        "noise_var": noise_var,
        "mse_over_noise_var": mse / noise_var,
    }
