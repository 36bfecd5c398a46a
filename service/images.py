"""Image uploads -> MNIST-style 28x28 arrays.

MNIST digits were made by taking a digit's ink, scaling its bounding box so that the longest side
is 20 pixels (with anti-aliasing) and centring the centre of mass in a 28x28 field, white ink on
black. :func:`image_to_mnist` does the same to any PNG/JPEG/BMP/GIF/WebP: a photo of a digit on
paper, a 280x280 canvas export (transparent background), dark-on-light or light-on-dark, colour or
grey, any size up to the configured pixel cap.

The pixel cap is checked from the header, before any pixel is decoded. Pillow's own global
decompression-bomb limit is switched off in favour of this per-application cap (it would warn,
then raise, with a limit that is not ours).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BadRequestError, InvalidInputError

Image.MAX_IMAGE_PIXELS = None  # see the module docstring: our cap, from the config, applies

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
CONTENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/bmp",
        "image/x-bmp",
        "image/x-ms-bmp",
        "image/gif",
        "image/webp",
    }
)
WORK_SIDE = 336  # images are reduced to at most this side before any float work
RESAMPLE = Image.Resampling.LANCZOS  # anti-aliased scaling of the cropped digit to 20 px
INK_MIN = 24.0  # an image whose ink is fainter than this (out of 255) is blank


def decode(data: bytes, max_pixels: int, path: str) -> Image.Image:
    """Open an upload, check its pixel count from the header, decode it small, upright and grey.

    Returns a Pillow image in mode ``L`` (or ``LA`` when it has transparency), at most
    ``WORK_SIDE`` pixels on its longest side.
    """
    if not data:
        raise BadRequestError("empty image", {path: ["The image is empty."]})
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise BadRequestError(
            "undecodable image",
            {path: [f"Not a decodable PNG, JPEG, BMP, GIF or WebP image ({type(e).__name__})."]},
        ) from None
    w, h = im.size
    if w * h > max_pixels:
        raise InvalidInputError(
            "image over the pixel cap",
            {path: [f"The image has {w}x{h} = {w * h} pixels; the maximum is {max_pixels}."]},
        )
    if w < 1 or h < 1:
        raise BadRequestError("undecodable image", {path: ["The image has no pixels."]})
    try:
        if im.format == "JPEG":
            # Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding: far less work.
            s = min(1.0, WORK_SIDE / max(w, h))
            im.draft("L", (max(1, math.ceil(w * s)), max(1, math.ceil(h * s))))
        im.seek(0)
        im = ImageOps.exif_transpose(im) or im
        has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            im.mode in ("P", "L", "RGB") and "transparency" in im.info
        )
        if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            a = np.asarray(im, dtype=np.float32)
            top = a.max()
            a = a * (255.0 / top) if top > 0 else a
            im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        im = im.convert("LA" if has_alpha else "L")
        if max(im.size) > WORK_SIDE:
            im.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
        im.load()
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError):
        raise BadRequestError(
            "undecodable image", {path: ["The image data is truncated or corrupt."]}
        ) from None
    return im


def to_grey(im: Image.Image) -> np.ndarray:
    """Float32 (H, W) luminance 0-255; transparency composited onto a background that contrasts
    with the ink (a canvas with black strokes on transparent pixels becomes black on white)."""
    if im.mode == "LA":
        la = np.asarray(im, dtype=np.float32)
        lum, alpha = la[..., 0], la[..., 1] / 255.0
        if alpha.min() < 1.0:
            weight = alpha.sum()
            ink_lum = float((lum * alpha).sum() / weight) if weight > 0 else 0.0
            bg = 255.0 if ink_lum < 128 else 0.0
            return lum * alpha + bg * (1.0 - alpha)
        return lum
    return np.asarray(im, dtype=np.float32)


def mnist_style(grey: np.ndarray, path: str) -> np.ndarray:
    """(H, W) luminance 0-255 -> (28, 28) float32 0-255, white ink on black, MNIST-style."""
    h, w = grey.shape
    # Polarity and background level from the border (paper, canvas or black field).
    k = max(1, min(h, w) // 20)
    border = np.concatenate(
        [grey[:k].ravel(), grey[-k:].ravel(), grey[:, :k].ravel(), grey[:, -k:].ravel()]
    )
    bg = float(np.median(border))
    ink = (grey - bg) if bg < 127.5 else (bg - grey)
    peak = float(ink.max())
    if peak < INK_MIN:
        raise InvalidInputError("no digit in the image", {path: ["The image is blank: no ink."]})
    # Contrast stretch to 0-1: paper texture and faint shadows (< 10 % of the peak) go to 0.
    ink = np.clip((ink / peak - 0.1) * (1 / 0.7), 0.0, 1.0)
    # Crop to the ink.
    mask = ink > 0.25
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise InvalidInputError("no digit in the image", {path: ["The image is blank: no ink."]})
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # Longest side -> 20 px, anti-aliased, aspect ratio kept.
    ch, cw = crop.shape
    scale = 20.0 / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    small = Image.fromarray(crop.astype(np.float32)).resize((nw, nh), Image.Resampling.LANCZOS)
    patch = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)
    # Centre of mass -> centre of the 28x28 field.
    total = float(patch.sum())
    if total <= 0:
        raise InvalidInputError("no digit in the image", {path: ["The image is blank: no ink."]})
    cy = float((patch.sum(axis=1) * np.arange(nh)).sum() / total)
    cx = float((patch.sum(axis=0) * np.arange(nw)).sum() / total)
    top = min(max(round(14.0 - cy), 0), 28 - nh)
    left = min(max(round(14.0 - cx), 0), 28 - nw)
    out = np.zeros((28, 28), np.float32)
    out[top : top + nh, left : left + nw] = patch * 255.0
    return out


def image_to_mnist(data: bytes, max_pixels: int, path: str = "image.0") -> np.ndarray:
    """Encoded image bytes -> (28, 28) float32 in 0-255, ready for an MNIST model.

    Raises
    ------
    BadRequestError
        The bytes are not a decodable PNG/JPEG/BMP/GIF/WebP (400).
    InvalidInputError
        The image exceeds ``max_pixels`` or holds no ink (422).
    """
    return mnist_style(to_grey(decode(data, max_pixels, path)), path)
