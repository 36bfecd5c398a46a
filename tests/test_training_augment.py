"""Augmentation: shifts move pixels without changing them; a zero affine is the identity; the
pen and capture effects do what their names say, within [0, 1]."""

import numpy as np

from training import pen
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


def _stroke() -> np.ndarray:
    """One 12x12 image holding a vertical bar two pixels wide: (1, 12, 12)."""
    x = np.zeros((1, 12, 12), np.float32)
    x[0, 2:10, 5:7] = 1.0
    return x


def test_elastic_field_moves_pixels_smoothly() -> None:
    X = _images()
    out = np.empty_like(X)
    RandomAffine(X, (8, 8), 0, 0.0, 0.0, elastic=1.0).take(
        np.arange(6), np.random.default_rng(3), out
    )
    assert not np.allclose(out, X)
    assert out.min() >= 0 and out.max() <= X.max() + 1e-6


def test_stroke_width_thickens_or_thins() -> None:
    x = np.repeat(_stroke(), 64, axis=0)
    out = pen.stroke_width(x, np.random.default_rng(0))
    ink = out.sum(axis=(1, 2))
    assert (ink > x[0].sum() + 1).any() and (ink < x[0].sum() - 1).any()
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(pen._erode(pen._dilate(x[:1]))[0, 3:9, 5:7], 1.0)


def test_blur_softens_and_keeps_range_and_ink() -> None:
    x = np.repeat(_stroke(), 16, axis=0)
    out = pen.blur(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    assert (out[:, 2:10, 4] > 0).all()  # softened edges
    assert np.all(np.abs(out.sum(axis=(1, 2)) - x[0].sum()) < 0.2 * x[0].sum())  # ink kept


def test_low_resolution_softens_and_reads_like_the_service() -> None:
    x = np.repeat(_stroke(), 16, axis=0)
    out = pen.low_resolution(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert ((out > 0) & (out < 0.9)).any(axis=(1, 2)).all()  # soft edges
    tall = (out > 0.25).any(axis=2).sum(axis=1)
    assert np.all(tall == 9)  # the bar's height scaled to 20/28 of the 12-pixel field


def test_levels_stretch_to_full_range() -> None:
    x = 0.5 * np.repeat(_stroke(), 8, axis=0)
    out = pen.levels(x, np.random.default_rng(2))
    np.testing.assert_allclose(out.max(axis=(1, 2)), 1.0)
    assert out.min() == 0


def test_pen_effects_apply_to_a_share_and_in_place() -> None:
    X = np.repeat(_stroke(), 200, axis=0).reshape(200, -1)
    original = X.copy()
    effects = pen.PenEffects((12, 12), {"stroke": 0.5})
    assert effects and not pen.PenEffects((12, 12), {"blur": 0.0})
    assert effects(X, np.random.default_rng(4)) is X
    changed = np.any(original != X, axis=1).mean()
    assert 0.35 < changed < 0.65
