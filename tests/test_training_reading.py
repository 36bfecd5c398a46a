"""Training's batch re-implementation of the service's reading matches the service's own code.

The test may import both sides (it is neither); training itself may not import the service.
"""

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from service.images import ink_of, mnist_style
from training.reading import read_digits


def _inks(n: int = 40, side: int = 56) -> np.ndarray:
    """(n, side, side) ink 0-1: scikit-learn's 8x8 digits scaled up smoothly, placed off-centre
    and at different sizes, so the crop, the scaling and the centring all have work to do."""
    digits = load_digits().images[:n] / 16.0
    rng = np.random.default_rng(0)
    out = np.zeros((n, side, side), np.float32)
    for k, digit in enumerate(digits):
        size = int(rng.integers(20, 40))
        image = Image.fromarray(digit.astype(np.float32)).resize((size, size), Image.BILINEAR)
        top, left = rng.integers(0, side - size, 2)
        out[k, top : top + size, left : left + size] = np.clip(np.asarray(image), 0, 1)
    return out


def test_reading_matches_the_service() -> None:
    inks = _inks()
    ours = read_digits(inks, (28, 28))
    theirs = np.stack([mnist_style(ink_of(255 * ink, "x"), "x") for ink in inks]) / 255
    assert ours.shape == (len(inks), 28, 28) and ours.dtype == np.float32
    assert ours.min() >= 0 and ours.max() <= 1
    np.testing.assert_allclose(ours.sum(axis=(1, 2)), theirs.sum(axis=(1, 2)), rtol=0.02)
    assert np.abs(ours - theirs).mean() < 0.01


def test_reading_fits_the_digit_to_its_box() -> None:
    inks = _inks()
    ours = read_digits(inks, (28, 28))
    rows, cols = (ours > 0.25).any(axis=2), (ours > 0.25).any(axis=1)
    longest = np.maximum(rows.sum(axis=1), cols.sum(axis=1))
    assert np.all((longest >= 19) & (longest <= 21))  # longest side 20 of 28, as in MNIST
