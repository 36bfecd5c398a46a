"""Image uploads -> MNIST-style arrays: formats, polarity, colour, transparency, caps, and the
real test: a digit drawn large, off-centre, dark on light, in colour gets the label of its 28x28
MNIST original from a real trained model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from service import v1
from service.engine import load_model
from service.errors import BadRequestError, InvalidInputError
from service.images import Limits, images_to_mnist

INK = np.array([20, 40, 160], np.float32)  # dark blue ink
PAPER = np.array([250, 240, 215], np.float32)  # cream paper


def encode(a: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt, **kw)
    return buf.getvalue()


def photo_like(digit: np.ndarray, scale: int = 9, canvas=(420, 560), at=(150, 300)) -> np.ndarray:
    """An MNIST digit drawn large (bilinear upscale), off-centre, coloured ink on paper, RGB."""
    big = Image.fromarray(digit).resize(
        (28 * scale, 28 * scale), Image.Resampling.BILINEAR
    )  # white-on-black intensity 0-255
    ink = np.asarray(big, np.float32)[..., None] / 255.0  # (H, W, 1)
    page = np.broadcast_to(PAPER, (*canvas, 3)).copy()
    y, x = at
    h, w = ink.shape[:2]
    page[y : y + h, x : x + w] = ink * INK + (1 - ink) * PAPER
    return page.clip(0, 255).astype(np.uint8)


def image_to_mnist(blob: bytes, max_pixels: int = 10**7) -> np.ndarray:
    """One upload -> (28, 28), with a budget and deadline that never bind here."""
    return images_to_mnist([blob], Limits(max_pixels, 10**9, 60.0, 60.0))[0]


@pytest.fixture(scope="module")
def mnist_model(mnist_npz):
    return load_model(mnist_npz)


def labels_of(model, X: np.ndarray) -> np.ndarray:
    return np.array(
        [
            p["label"]
            for p in v1.predictions(model, model.forward(X.reshape(len(X), 784).astype(np.float32)))
        ]
    )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_offcentre_coloured_digits_get_the_label_of_their_mnist_original(
    mnist_model, mnist_digits, fmt
):
    X, _ = mnist_digits
    X = X[:40]
    want = labels_of(mnist_model, X)
    got = []
    for i, digit in enumerate(X):
        at = (20 + 7 * (i % 20), 10 + 13 * (i % 23))  # a different place each time
        blob = encode(photo_like(digit, at=at), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        got.append(image_to_mnist(blob))
    got_labels = labels_of(mnist_model, np.stack(got))
    agree = (got_labels == want).mean()
    assert agree >= 0.925, (agree, np.flatnonzero(got_labels != want))


def test_the_preprocessing_reproduces_the_mnist_array(mnist_digits):
    X, _ = mnist_digits
    corr = []
    for digit in X[:30]:
        out = image_to_mnist(encode(photo_like(digit)))
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 255
        corr.append(np.corrcoef(out.ravel(), digit.ravel().astype(np.float32))[0, 1])
    assert np.median(corr) > 0.9


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP"])
def test_formats_and_polarity(mnist_digits, fmt):
    digit = mnist_digits[0][0]
    big = np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BILINEAR))
    light_on_dark = image_to_mnist(encode(big, fmt))
    dark_on_light = image_to_mnist(encode(255 - big, fmt))
    assert np.corrcoef(light_on_dark.ravel(), digit.ravel())[0, 1] > 0.85
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=40)


def test_a_28x28_mnist_png_passes_almost_unchanged(mnist_digits):
    digit = mnist_digits[0][3]
    out = image_to_mnist(encode(digit))
    assert np.corrcoef(out.ravel(), digit.ravel())[0, 1] > 0.95


def test_transparent_canvas(mnist_digits):
    """A browser canvas export: black strokes on fully transparent pixels (RGBA)."""
    digit = mnist_digits[0][1]
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = big  # ink opacity; colour stays black
    out = image_to_mnist(encode(rgba))
    opaque = image_to_mnist(encode(255 - big))
    np.testing.assert_allclose(out, opaque, atol=2)


def test_sixteen_bit_grey(mnist_digits):
    digit = mnist_digits[0][2]
    big = Image.fromarray(digit.astype(np.uint16) * 257).resize((84, 84))
    buf = io.BytesIO()
    big.save(buf, "PNG")
    out = image_to_mnist(buf.getvalue())
    assert np.corrcoef(out.ravel(), digit.ravel())[0, 1] > 0.85


def test_pixel_cap_is_checked_from_the_header(bomb_png):
    with pytest.raises(InvalidInputError) as e:
        image_to_mnist(bomb_png(100_000, 100_000), 16_000_000)
    assert "maximum is 16000000" in e.value.details["image.0"][0]


_NOISY_PNG = encode(np.random.default_rng(0).integers(0, 256, (100, 100), dtype=np.uint8))


@pytest.mark.parametrize(
    "blob",
    [b"", b"hello", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, _NOISY_PNG[: len(_NOISY_PNG) // 2]],
    ids=["empty", "text", "bad png", "truncated"],
)
def test_undecodable_images(blob):
    with pytest.raises(BadRequestError):
        image_to_mnist(blob)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_images(value):
    with pytest.raises(InvalidInputError, match="no digit"):
        image_to_mnist(encode(np.full((64, 64), value, np.uint8)))


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_after_the_reduction(mnist_digits, orientation):
    """A camera's EXIF rotation: the same as the image rotated upright before it is sent."""
    digit = mnist_digits[0][4]
    im = Image.fromarray(digit).resize((1400, 1400), Image.Resampling.BILINEAR)
    exif = Image.Exif()
    exif[0x0112] = orientation
    tagged = encode(np.asarray(im), "PNG", exif=exif)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(tagged)))
    np.testing.assert_allclose(
        image_to_mnist(tagged), image_to_mnist(encode(np.asarray(upright))), atol=2
    )
    assert np.corrcoef(image_to_mnist(tagged).ravel(), digit.ravel())[0, 1] < 0.9  # it turned
