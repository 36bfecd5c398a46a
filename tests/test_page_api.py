"""The server side of the drawing page, in-process: ``return_input`` on /predict."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from service.images import image_to_mnist


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def canvas_seven() -> np.ndarray:
    """A 7 in dark strokes on a white 120x120 canvas, off-centre, as the page sends it."""
    a = np.full((120, 120), 255, np.uint8)
    a[20:30, 30:90] = 0
    a[30:100, 75:85] = 0
    return a


def test_return_input_gives_the_image_the_model_saw(client):
    blob = png(canvas_seven())
    want = np.rint(image_to_mnist(blob, 10**6)).astype(int).tolist()
    raw = client.post("/predict?return_input=1", data=blob, content_type="image/png")
    assert raw.status_code == 200, raw.get_json()
    (p,) = raw.get_json()["predictions"]
    assert p["input"] == want
    assert set(p) == {"label", "probabilities", "input"}
    files = {"image": [(io.BytesIO(blob), "a.png"), (io.BytesIO(blob), "b.png")]}
    multi = client.post("/predict?return_input=true", data=files)
    assert [p["input"] for p in multi.get_json()["predictions"]] == [want, want]
    assert [p["label"] for p in multi.get_json()["predictions"]] == [p["label"]] * 2


@pytest.mark.parametrize("flag", ["", "?return_input=0", "?return_input=false"])
def test_without_return_input_there_is_no_input(client, flag):
    r = client.post(f"/predict{flag}", data=png(canvas_seven()), content_type="image/png")
    assert "input" not in r.get_json()["predictions"][0]


def test_a_bad_return_input_value_is_a_422(client):
    r = client.post("/predict?return_input=yes", data=png(canvas_seven()), content_type="image/png")
    assert r.status_code == 422
    assert r.get_json()["details"] == {"return_input": ["Must be 1 or true (or 0, false)."]}
