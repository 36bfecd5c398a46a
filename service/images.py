"""Image uploads -> MNIST-style 28x28 arrays, decoded small and within the request's bounds.

MNIST digits were made by taking a digit's ink, scaling its bounding box so that the longest side
is 20 pixels (with anti-aliasing) and centring the centre of mass in a 28x28 field, white ink on
black. :func:`images_to_mnist` does the same to any PNG/JPEG/BMP/GIF/WebP: a photo of a digit on
paper, a 280x280 canvas export (transparent background), dark-on-light or light-on-dark, colour or
grey, any size up to the configured pixel cap; a multi-frame image gives its first frame.

Decoding is what costs (see :mod:`service.budget` for the bounds and the figures), so:

1. every image's header is read and checked, and its pixels charged to the request's pixel
   budget, before any image is decoded: a request over it is refused at once, whatever it holds;
2. each image is reduced to at most ``WORK_SIDE`` pixels a side straight after decoding, and the
   EXIF rotation, alpha compositing and everything after work on the small image. Only JPEG
   decodes reduced (``draft``: libjpeg scales by 1/8 while decoding; a 4096x4096 colour JPEG
   takes 5 ms instead of 34, a progressive one 58 instead of 124); Pillow decodes PNG, WebP,
   GIF and BMP at full size only (``draft`` is a no-op for them; 45-230 ms at 4096x4096 here);
3. a blank image is refused on that small image, before the crop, the LANCZOS scaling and the
   centre of mass, and the images after a refused one are not decoded;
4. the request's :class:`~service.budget.Deadline` is checked between images, between steps and
   at every read Pillow's Python-level parsers make (PNG chunks, JPEG markers, GIF blocks).

Pillow's own global decompression-bomb limit is switched off in favour of the per-application caps
(it would warn, then raise, with a limit that is not ours).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageChops, UnidentifiedImageError

from .budget import Deadline, Limits, TooCostlyError, pixel_cost
from .errors import BadRequestError, InvalidInputError

Image.MAX_IMAGE_PIXELS = None  # see the module docstring: our caps, from the config, apply

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
_ORIENTATION = {  # EXIF orientation -> the transpose that makes the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError)


class _Reader(io.BytesIO):
    """An upload's bytes that check the deadline whenever a decoder reads from them."""

    def __init__(self, data: bytes, deadline: Deadline, path: str):
        super().__init__(data)
        self._deadline, self._path = deadline, path

    def read(self, size: int | None = -1) -> bytes:
        self._deadline.check(self._path)
        return super().read(size)


def _undecodable(path: str, reason: str) -> BadRequestError:
    return BadRequestError("undecodable image", {path: [reason]})


def open_image(data: bytes, limits: Limits, deadline: Deadline, path: str) -> Image.Image:
    """Read an upload's header only: format, size, and the per-image caps (nothing decoded)."""
    if not data:
        raise _undecodable(path, "The image is empty.")
    try:
        im = Image.open(_Reader(data, deadline, path), formats=FORMATS)
    except (UnidentifiedImageError, *_DECODE_ERRORS) as e:
        raise _undecodable(
            path, f"Not a decodable PNG, JPEG, BMP, GIF or WebP image ({type(e).__name__})."
        ) from None
    w, h = im.size
    if w * h > limits.image_pixels:
        reason = f"The image has {w}x{h} = {w * h} pixels; the maximum is {limits.image_pixels}."
        raise InvalidInputError("image over the pixel cap", {path: [reason]})
    if w < 1 or h < 1:
        raise _undecodable(path, "The image has no pixels.")
    return im


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("P", "L", "RGB", "1") and "transparency" in im.info
    )


def _small(im: Image.Image) -> Image.Image:
    im.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)  # reduce() first: cheap at any size
    return im


def _load_first_frame(im: Image.Image) -> None:
    """Decode the first frame; a JPEG scaled by 1/2, 1/4 or 1/8 by libjpeg while decoding."""
    w, h = im.size
    if im.format == "JPEG":
        s = min(1.0, WORK_SIDE / max(w, h))
        im.draft("L", (max(1, math.ceil(w * s)), max(1, math.ceil(h * s))))
    im.seek(0)
    im.load()


def _planes(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """A decoded image -> luminance (``L``, or ``F`` for 16-bit and float samples) premultiplied
    by alpha, and alpha (``L``, None when opaque), both reduced to at most ``WORK_SIDE`` a side.
    Premultiplied, the reduction averages what compositing needs."""
    if _has_alpha(im):
        im = im if im.mode in ("RGBA", "LA") else im.convert("RGBA")
        alpha = im.getchannel("A")
        if alpha.getextrema()[0] < 255:
            return _small(ImageChops.multiply(im.convert("L"), alpha)), _small(alpha)
    elif im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _small(im.convert("F")), None
    return _small(im.convert("L")), None


def decode_small(im: Image.Image, deadline: Deadline, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode the first frame, reduced to at most ``WORK_SIDE`` a side, upright.

    Returns float32 (H, W) luminance 0-255 premultiplied by alpha, and alpha 0-1 (H, W) (all ones
    for an opaque image).
    """
    try:
        _load_first_frame(im)
        deadline.check(path)
        orientation = _ORIENTATION.get(im.getexif().get(0x0112, 1))
        lum, alpha = _planes(im)
    except (*_DECODE_ERRORS, Image.DecompressionBombError):
        raise _undecodable(path, "The image data is truncated or corrupt.") from None
    deadline.check(path)
    if orientation is not None:
        lum = lum.transpose(orientation)
        alpha = alpha.transpose(orientation) if alpha is not None else None
    grey = np.asarray(lum, dtype=np.float32)
    if lum.mode == "F":  # 16-bit or float samples: stretched to 0-255 by their maximum
        top = float(grey.max())
        grey = np.clip(grey * (255.0 / top) if top > 0 else grey, 0.0, 255.0)
    if alpha is None:
        return grey, np.ones_like(grey)
    return grey, np.asarray(alpha, dtype=np.float32) / 255.0


def to_grey(lum: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Float32 (H, W) luminance 0-255; transparency composited onto a background that contrasts
    with the ink (a canvas with black strokes on transparent pixels becomes black on white).
    ``lum`` is premultiplied by ``alpha`` (0-1)."""
    if alpha.min() >= 1.0:
        return lum
    weight = alpha.sum()
    ink_lum = float(lum.sum() / weight) if weight > 0 else 0.0
    bg = 255.0 if ink_lum < 128 else 0.0
    return lum + bg * (1.0 - alpha)


def ink_of(grey: np.ndarray, path: str) -> np.ndarray:
    """(H, W) luminance 0-255 -> (H, W) ink 0-1, white ink on black; a blank image is refused
    here, before the crop and scaling steps. Polarity and background come from the border."""
    h, w = grey.shape
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
    return np.clip((ink / peak - 0.1) * (1 / 0.7), 0.0, 1.0)


def mnist_style(ink: np.ndarray, path: str) -> np.ndarray:
    """(H, W) ink 0-1 with a peak of 1 -> (28, 28) float32 0-255, MNIST-style."""
    mask = ink > 0.25  # the peak is 1, so some pixel is always in the mask
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # Longest side -> 20 px, anti-aliased, aspect ratio kept.
    ch, cw = crop.shape
    scale = 20.0 / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    small = Image.fromarray(crop.astype(np.float32)).resize((nw, nh), RESAMPLE)
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


def _raise_first(errors: list[BadRequestError | InvalidInputError]) -> None:
    """Raise one error holding every image's reasons; a 400 (undecodable) wins over a 422."""
    details = {k: v for e in errors for k, v in e.details.items()}
    first = next((e for e in errors if isinstance(e, BadRequestError)), errors[0])
    raise type(first)(first.message, details)


def charge(blobs: list[bytes], limits: Limits, deadline: Deadline, field: str) -> None:
    """Open every image's header (nothing is decoded, and each is closed again, so that memory
    holds one image at a time): the per-image caps of all, then the request's pixel budget."""
    cost = 0
    errors: list[BadRequestError | InvalidInputError] = []
    for i, blob in enumerate(blobs):
        try:
            with open_image(blob, limits, deadline, f"{field}.{i}") as im:
                cost += pixel_cost(im, blob, f"{field}.{i}")
        except TooCostlyError:
            raise
        except (BadRequestError, InvalidInputError) as e:
            errors.append(e)
    if errors:
        _raise_first(errors)
    if cost > limits.request_pixels:
        reason = (
            f"The {len(blobs)} images decode to {cost} pixels; "
            f"the request budget is {limits.request_pixels}."
        )
        raise InvalidInputError("request over the pixel budget", {field: [reason]})


def images_to_mnist(blobs: list[bytes], limits: Limits, field: str = "image") -> np.ndarray:
    """Encoded images of one request -> (n, 28, 28) float32 in 0-255, ready for an MNIST model.

    Every header is checked and the pixel budget charged before the first image is decoded;
    then the images are decoded one by one, and the first one refused stops the request.

    Raises
    ------
    BadRequestError
        An upload is not a decodable PNG/JPEG/BMP/GIF/WebP (400; ``details`` names each one).
    InvalidInputError
        An image over the pixel cap or the scan cap, the request over its pixel budget, a blank
        image, or a request over its CPU limit (422).
    ServiceUnavailableError
        The deadline passed while the request waited for the CPU (503, ``Retry-After``).
    """
    deadline = Deadline(limits, field)
    charge(blobs, limits, deadline, field)
    out = np.empty((len(blobs), 28, 28), np.float32)
    for i, blob in enumerate(blobs):
        path = f"{field}.{i}"
        deadline.check(path)
        with open_image(blob, limits, deadline, path) as im:
            grey = to_grey(*decode_small(im, deadline, path))
        out[i] = mnist_style(ink_of(grey, path), path)
    return out
