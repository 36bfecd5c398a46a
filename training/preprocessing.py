"""Input scaling/standardisation and target (de)normalisation, as written into the ``.npz``.

``x' = (x * input_scale - input_mean) / input_std`` for a flattened raw input, and for regression
``y' = (y - output_mean) / output_std``. Images are only scaled to [0, 1] (mean 0, std 1), so a
shifted image's zero padding is still background; feature inputs and regression targets are
standardised with training-set statistics.
"""

from dataclasses import dataclass

import numpy as np

from training.datasets import Dataset


@dataclass
class Preprocessing:
    """The affine maps between raw values and what the network sees."""

    input_scale: float
    input_mean: np.ndarray  # (d,) float32
    input_std: np.ndarray  # (d,) float32, > 0
    output_mean: np.ndarray | None = None  # (k,) float32, regression only
    output_std: np.ndarray | None = None  # (k,) float32, regression only

    def inputs(self, X: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """Raw inputs (n, ...) -> network inputs (n, d) in ``dtype``.

        The scale is applied as a division by ``1 / input_scale`` (255.0 exactly for pixels), so
        that pixels / 255 round as the reference's do in float32 and in float64; multiplying by a
        rounded 1/255 differs in the last bit for 126 of the 256 pixel values in float32.
        """
        X = np.asarray(X, dtype=dtype).reshape(len(X), -1)
        X = X / dtype(1.0 / self.input_scale)
        return (X - self.input_mean) / self.input_std

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Regression targets (n, k) -> standardised float32."""
        assert self.output_mean is not None and self.output_std is not None
        return ((y - self.output_mean) / self.output_std).astype(np.float32)

    def untargets(self, y: np.ndarray) -> np.ndarray:
        """Network regression outputs (n, k) -> the target's units."""
        assert self.output_mean is not None and self.output_std is not None
        return y * self.output_std + self.output_mean


def fit_preprocessing(data: Dataset) -> Preprocessing:
    """Derive the preprocessing from the training split.

    Parameters
    ----------
    data : Dataset

    Returns
    -------
    Preprocessing
    """
    d = int(np.prod(data.input_shape))
    if data.input_kind == "image":
        ones, zeros = np.ones(d, np.float32), np.zeros(d, np.float32)
        return Preprocessing(1.0 / data.input_range[1], zeros, ones)
    X = data.X_train.reshape(len(data.X_train), d).astype(np.float64)
    prep = Preprocessing(
        1.0,
        X.mean(axis=0).astype(np.float32),
        np.maximum(X.std(axis=0), 1e-6).astype(np.float32),
    )
    if data.labels is None:
        y = data.y_train.astype(np.float64)
        prep.output_mean = y.mean(axis=0).astype(np.float32)
        prep.output_std = np.maximum(y.std(axis=0), 1e-6).astype(np.float32)
    return prep
