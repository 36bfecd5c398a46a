"""The server side of the drawing page, in-process: its routes and ``return_input`` on /predict."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from service.budget import Limits
from service.images import images_to_mnist


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


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/page/page.css", "text/css; charset=utf-8"),
        ("/page/page.js", "text/javascript; charset=utf-8"),
    ],
)
def test_page_and_assets(client, path, content_type):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["Content-Type"] == content_type
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"]
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    again = client.get(path, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_page_loads_only_its_own_assets(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/page/page.css">' in html
    assert '<script src="/page/page.js" defer></script>' in html
    assert "http://" not in html and "https://" not in html


@pytest.mark.parametrize("path", ["/page/nope.js", "/page/", "/page/../api.py", "/index.html"])
def test_unknown_assets_are_json_404s(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    assert set(r.get_json()) == {"error", "details"}


def test_return_input_gives_the_image_the_model_saw(client):
    blob = png(canvas_seven())
    want = (
        np.rint(images_to_mnist([blob], Limits(10**6, 10**9, 60.0, 60.0))[0]).astype(int).tolist()
    )
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
