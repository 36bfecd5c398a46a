"""Pen and capture effects for image augmentation: stroke width, low resolution, blur, levels.

Real digits reach the service drawn with a mouse or a finger, photographed or scanned, then made
MNIST-like (cropped, scaled to 20 px, centred). What differs from MNIST is how they were drawn and
captured: strokes thicker or thinner than a pen's, detail lost to a low-resolution capture, blur,
and a contrast stretch. Each effect here models one of these on a chunk of images in [0, 1],
vectorised over the chunk, each image drawing its own strength; each is applied to a random share
of the images (the probabilities of :class:`PenEffects`).

Cost, measured on 55,000 MNIST images at the ``mnist`` preset's shares (stroke 0.5, lowres 0.4,
blur 0.2, levels 0.5), one core shared with other work: 3.2 s of CPU per epoch, most of it the
reading of the low-resolution captures, beside 1.8 s for the affine and elastic warp; a training
epoch took 9.0 s, against 7.3 s before the captures were read (re-measure: time
``RandomAffine.take`` with and without a :class:`PenEffects`).
"""

import numpy as np

from training.reading import read_digits, stretch

CAPTURE_SIDES = np.arange(7, 15)  # low-resolution captures: 7x7 to 14x14 pixels
UPSCALE = 2  # a capture is shown at twice the field's size before it is read
BLUR_SIGMA = (0.4, 1.1)  # Gaussian blur, pixels
LEVELS_LOW = (0.0, 0.2)  # contrast stretch: share of the peak that becomes black ...
LEVELS_HIGH = (0.6, 1.0)  # ... and share of the peak that becomes white


def _dilate(x: np.ndarray) -> np.ndarray:
    """Grey dilation of (n, h, w) by a round 3x3 pen: the 4-neighbours, diagonals at 0.6."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    h, w = x.shape[1:]
    out = np.maximum(x, p[:, :-2, 1:-1])
    for view in (p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]):
        np.maximum(out, view, out=out)
    diagonal = np.maximum(np.maximum(p[:, :h, :w], p[:, :h, 2:]), p[:, 2:, :w])
    np.maximum(diagonal, p[:, 2:, 2:], out=diagonal)
    return np.maximum(out, 0.6 * diagonal, out=out)


def _erode(x: np.ndarray) -> np.ndarray:
    """Grey erosion of (n, h, w) by the 4-neighbourhood (a one-pixel-thinner pen)."""
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.minimum(x, p[:, :-2, 1:-1])
    for view in (p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]):
        np.minimum(out, view, out=out)
    return out


def stroke_width(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thicken (half the images) or thin each of (n, h, w) by up to one pixel per side.

    The amount is continuous: the image is blended with its dilation (or erosion) by a weight
    uniform in [0.3, 1].
    """
    n = len(x)
    thicker = rng.random(n) < 0.5
    weight = rng.uniform(0.3, 1.0, (n, 1, 1)).astype(np.float32)
    target = np.where(thicker[:, None, None], _dilate(x), _erode(x))
    return x + weight * (target - x)


def _box_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) area-averaging resampler: each output pixel is the mean of what it covers."""
    edges_in = np.arange(n_in + 1, dtype=np.float64)
    edges_out = np.linspace(0, n_in, n_out + 1)
    lo = np.maximum(edges_out[:-1, None], edges_in[None, :-1])
    hi = np.minimum(edges_out[1:, None], edges_in[None, 1:])
    overlap = np.clip(hi - lo, 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _linear_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) linear interpolation between pixel centres (edges held)."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    left = np.minimum(np.floor(pos).astype(int), n_in - 2)
    frac = pos - left
    M = np.zeros((n_out, n_in))
    M[np.arange(n_out), left] = 1 - frac
    M[np.arange(n_out), left + 1] = frac
    return M


def low_resolution(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Capture each of (n, h, w) at s x s pixels (s in :data:`CAPTURE_SIDES`), show it at
    ``UPSCALE`` times the field's size, and read it as the service reads an upload.

    Down-sampling averages areas (a camera's pixels), up-sampling is linear (a browser's); both
    are small matrices, so a group of images with the same ``s`` is two batched products. The
    reading (:func:`training.reading.read_digits`) stretches, crops and rescales the blurred digit
    as the service does; done on the up-scaled capture, as the service does it on the uploaded
    one, it keeps the strokes as thin as the service makes them.
    """
    h, w = x.shape[1:]
    sides = rng.choice(CAPTURE_SIDES, len(x))
    out = np.empty_like(x)
    for s in np.unique(sides):
        rows = np.flatnonzero(sides == s)
        up_r = (_linear_matrix(UPSCALE * h, s) @ _box_matrix(s, h)).astype(np.float32)  # (2h, h)
        up_c = (_linear_matrix(UPSCALE * w, s) @ _box_matrix(s, w)).astype(np.float32)  # (2w, w)
        out[rows] = read_digits(up_r @ x[rows] @ up_c.T, (h, w))
    return out


def blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur of each of (n, h, w), sigma uniform in :data:`BLUR_SIGMA`, 5 taps a side."""
    sigma = rng.uniform(*BLUR_SIGMA, (len(x), 1))
    taps = np.exp(-0.5 * (np.arange(-2, 3) / sigma) ** 2)  # (n, 5)
    taps = (taps / taps.sum(axis=1, keepdims=True)).astype(np.float32)
    h, w = x.shape[1:]
    p = np.pad(x, ((0, 0), (2, 2), (0, 0)))
    rows = sum(taps[:, k, None, None] * p[:, k : k + h] for k in range(5))
    p = np.pad(rows, ((0, 0), (0, 0), (2, 2)))
    return sum(taps[:, k, None, None] * p[:, :, k : k + w] for k in range(5))


def levels(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast stretch each of (n, h, w) like a scanner's levels: peak-relative black and white."""
    n = len(x)
    low = rng.uniform(*LEVELS_LOW, (n, 1, 1)).astype(np.float32)
    high = rng.uniform(*LEVELS_HIGH, (n, 1, 1)).astype(np.float32)
    return stretch(x, low, high)


EFFECTS = (("stroke", stroke_width), ("lowres", low_resolution), ("blur", blur), ("levels", levels))


class PenEffects:
    """Apply each effect of :data:`EFFECTS`, in that order, to a random share of the images.

    Parameters
    ----------
    shape : (int, int)
        Image height and width.
    probabilities : dict of str to float
        Share of images each effect is applied to, by name (``stroke``, ``lowres``, ``blur``,
        ``levels``); a missing or zero share skips the effect.
    """

    def __init__(self, shape: tuple[int, int], probabilities: dict[str, float]):
        self.shape = shape
        self.effects = [(p, f) for name, f in EFFECTS if (p := probabilities.get(name, 0.0)) > 0]

    def __bool__(self) -> bool:
        return bool(self.effects)

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Images (n, h*w) in [0, 1] -> the same images, some drawn and captured differently."""
        x = X.reshape(len(X), *self.shape)
        for p, effect in self.effects:
            rows = np.flatnonzero(rng.random(len(x)) < p)
            if len(rows):
                x[rows] = effect(x[rows], rng)
        return X
