"""How a test digit is changed before it is uploaded: the conditions of the robustness report.

Each condition turns one MNIST test digit (28x28 uint8, white on black) into the image a user
might upload: a 112x112 canvas (4 canvas pixels per MNIST pixel), drawn or captured differently,
encoded as PNG. Every step is deterministic, so the report needs no seed. The pen changes use
scipy's grey morphology, independently of the augmentation code that training uses.

The conditions were set against the figures in issue 12, measured there with the service's image
path on 1,000 test digits for the model shipped before it (99.12 % on MNIST's test set); on the
same 1,000 digits this module gives: as drawn 99.2 % (issue: 99.2), 8x8 89.3 (89.5), 12x12 97.5
(98.6), stroke +2 px 93.3 (92.8, "thickened by about one pixel"), stroke -1 px 98.7 (98.1).
"""

import io
from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

ZOOM = 4  # canvas pixels per MNIST pixel
CANVAS = 28 * ZOOM


def _disk(radius: float) -> np.ndarray:
    """Round footprint of the given radius in canvas pixels, shape (1, 2r+1, 2r+1)."""
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (xx**2 + yy**2 <= radius**2)[None]


def canvas(digits: np.ndarray) -> np.ndarray:
    """(n, 28, 28) uint8 -> (n, CANVAS, CANVAS) uint8, scaled up smoothly (bicubic)."""
    size = (CANVAS, CANVAS)
    return np.stack(
        [np.asarray(Image.fromarray(d).resize(size, Image.Resampling.BICUBIC)) for d in digits]
    )


def captured(side: int) -> Callable[[np.ndarray], np.ndarray]:
    """The whole 28x28 field captured at ``side`` x ``side`` pixels (each the mean of the area it
    covers, as a camera's), then scaled up to the canvas bilinearly (as a browser would)."""

    def capture(digits: np.ndarray) -> np.ndarray:
        small = [Image.fromarray(d).resize((side, side), Image.Resampling.BOX) for d in digits]
        size = (CANVAS, CANVAS)
        return np.stack([np.asarray(s.resize(size, Image.Resampling.BILINEAR)) for s in small])

    return capture


def thickened(digits: np.ndarray) -> np.ndarray:
    """Strokes one MNIST pixel wider on every side: a 3x3 grey dilation, then the canvas."""
    return canvas(ndimage.grey_dilation(digits, size=(1, 3, 3)))


def thinned(digits: np.ndarray) -> np.ndarray:
    """Strokes one MNIST pixel narrower: the canvas eroded by a round pen half a pixel wide."""
    return ndimage.grey_erosion(canvas(digits), footprint=_disk(ZOOM / 2))


# condition -> transform of (n, 28, 28) uint8 digits into (n, H, W) uint8 uploads, report order
CONDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as drawn": canvas,
    "captured at 12x12": captured(12),
    "captured at 8x8": captured(8),
    "stroke +2 px": thickened,
    "stroke -1 px": thinned,
}


def png(image: np.ndarray) -> bytes:
    """A (H, W) uint8 image encoded as PNG, as a browser would upload it."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
