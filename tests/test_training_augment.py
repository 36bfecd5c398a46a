"""Augmentation: shifts move pixels without changing them; a zero affine is the identity."""

import numpy as np

from training.augment import RandomAffine, RandomShift


def _images(n: int = 6) -> np.ndarray:
    """Random 8x8 blobs with a 2-pixel empty border, flattened: (n, 64)."""
    rng = np.random.default_rng(0)
    X = np.zeros((n, 8, 8), np.float32)
    X[:, 2:6, 2:6] = rng.random((n, 4, 4), dtype=np.float32)
    return X.reshape(n, 64)


def test_shift_keeps_pixels_and_order() -> None:
    X = _images()
    out = np.empty_like(X)
    order = np.array([3, 1, 0, 5, 2, 4])
    RandomShift(X, (8, 8), 2).take(order, np.random.default_rng(1), out)
    for row, i in enumerate(order):  # a shift of at most 2 keeps the blob inside the image
        np.testing.assert_allclose(np.sort(out[row]), np.sort(X[i]))


def test_affine_without_distortion_is_identity() -> None:
    X = _images()
    out = np.empty_like(X)
    order = np.arange(len(X))[::-1]
    RandomAffine(X, (8, 8), 0, 0.0, 0.0).take(order, np.random.default_rng(1), out)
    np.testing.assert_allclose(out, X[order], atol=1e-6)


def test_affine_distorts_but_keeps_range() -> None:
    X = _images()
    out = np.empty_like(X)
    RandomAffine(X, (8, 8), 1, 15.0, 0.1).take(np.arange(len(X)), np.random.default_rng(2), out)
    assert not np.allclose(out, X)
    assert out.min() >= 0 and out.max() <= X.max() + 1e-6
