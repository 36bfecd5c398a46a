"""The app in-process (Flask test client): probes, metadata, content types, limits, config."""

from __future__ import annotations

import io

import numpy as np
import orjson
import pytest
from PIL import Image

from service import create_app
from service.config import ConfigError

IMG = [[255 if 10 <= c < 14 else 0 for c in range(28)] for _ in range(28)]  # a bar of ink


def png(a: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt)
    return buf.getvalue()


def digit_like(h: int = 60, w: int = 40) -> np.ndarray:
    """Dark strokes on white: a crude '7'."""
    a = np.full((h, w), 255, np.uint8)
    a[5:10, 5:35] = 0
    a[10:55, 28:33] = 0
    return a


def test_health_ready_models(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.get_json()["status"] == "ready"
    assert set(r.get_json()["models"]) == {"mnist", "regression", "moons"}
    models = client.get("/models").get_json()
    assert {m["name"] for m in models["models"]} == {"mnist", "regression", "moons"}
    assert models["unavailable"] == {}
    m = client.get("/models/mnist").get_json()
    assert m["task"] == "multiclass" and m["input"]["shape"] == [28, 28]
    assert m["input"]["min"] == 0 and m["input"]["max"] == 255
    assert m["labels"] == list(range(10)) and m["layer_sizes"] == [784, 16, 10]
    assert len(m["sha256"]) == 64 and m["version"] == "20261123T200000Z"
    reg = client.get("/models/regression").get_json()
    assert reg["input"]["min"] is None and reg["input"]["max"] is None  # unbounded
    assert "labels" not in reg


def test_not_ready_when_an_artifact_is_bad(tiny_models):
    (tiny_models / "corrupt.npz").write_bytes(b"\x00" * 100)
    client = create_app({"MODEL_DIR": str(tiny_models)}).test_client()
    assert client.get("/health").status_code == 200
    r = client.get("/ready")
    assert r.status_code == 503
    assert "corrupt" in r.get_json()["reasons"]
    assert client.get("/models/corrupt").status_code == 503
    r = client.post("/predict", json={"features": [[1.0]]})
    assert r.status_code == 200  # the others still serve


def test_routes_and_methods(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.get_json()["error"].startswith("not found")
    r = client.get("/predict")
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]
    assert "Allowed" in r.get_json()["details"]["method"][0]
    assert client.post("/health").status_code == 405
    assert client.get("/models/nope").status_code == 404


@pytest.mark.parametrize(
    "ctype",
    [None, "text/plain", "application/x-www-form-urlencoded", "image/tiff", "image/svg+xml"],
)
def test_unsupported_content_types(client, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    r = client.post("/predict", data=b"abc", headers=headers)
    assert r.status_code == 415
    assert "Content-Type" in r.get_json()["details"]


def test_json_with_charset_and_suffix(client):
    body = orjson.dumps({"images": [IMG]})
    for ctype in ("application/json; charset=utf-8", "application/vnd.api+json"):
        assert client.post("/predict", data=body, content_type=ctype).status_code == 200


def test_body_cap(tiny_models):
    client = create_app({"MODEL_DIR": str(tiny_models), "MAX_REQUEST_BYTES": 1000}).test_client()
    r = client.post(
        "/predict", data=orjson.dumps({"images": [IMG]}), content_type="application/json"
    )
    assert r.status_code == 413 and "1000-byte cap" in r.get_json()["error"]
    r = client.post("/predict", data=b"x" * 2000, content_type="image/png")
    assert r.status_code == 413
    r = client.post(
        "/predict",
        data={"image": (io.BytesIO(b"x" * 2000), "a.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and set(r.get_json()) == {"error", "details"}


def test_image_uploads(client):
    one = png(digit_like())
    r = client.post("/predict", data=one, content_type="image/png")
    assert r.status_code == 200, r.data
    (p,) = r.get_json()["predictions"]
    assert r.get_json()["model"] == "mnist" and len(p["probabilities"]) == 10
    files = {
        "image": [(io.BytesIO(one), "a.png"), (io.BytesIO(png(digit_like(), "JPEG")), "b.jpg")]
    }
    r = client.post("/predict", data=files, content_type="multipart/form-data")
    assert r.status_code == 200, r.data
    assert len(r.get_json()["predictions"]) == 2
    # The same image as raw body and as multipart gives the same answer.
    r2 = client.post("/predict", data={"image": (io.BytesIO(one), "a.png"), "model": "mnist"})
    assert r2.get_json()["predictions"][0] == p


def test_image_upload_errors(tiny_models):
    config = {"MODEL_DIR": str(tiny_models), "MAX_IMAGE_PIXELS": 100 * 100, "MAX_BATCH": 8}
    client = create_app(config).test_client()
    r = client.post("/predict", data=b"not an image", content_type="image/png")
    assert r.status_code == 400 and "image.0" in r.get_json()["details"]
    r = client.post("/predict", data=png(digit_like(200, 100)), content_type="image/png")
    assert r.status_code == 422 and "maximum is 10000" in r.get_json()["details"]["image.0"][0]
    r = client.post(
        "/predict", data=png(np.full((50, 50), 255, np.uint8)), content_type="image/png"
    )
    assert r.status_code == 422 and "blank" in r.get_json()["details"]["image.0"][0]
    r = client.post("/predict", data={"other": (io.BytesIO(b"x"), "x.png")})
    assert r.status_code == 422
    assert set(r.get_json()["details"]) == {"other", "image"}
    r = client.post("/predict?model=regression", data=png(digit_like()), content_type="image/png")
    assert r.status_code == 422 and "takes 'features'" in r.get_json()["error"]
    r = client.post("/predict?model=nope", data=png(digit_like()), content_type="image/png")
    assert r.status_code == 404
    files = {"image": [(io.BytesIO(png(digit_like())), "a.png"), (io.BytesIO(b"junk"), "b.png")]}
    r = client.post("/predict", data=files)
    assert r.status_code == 400 and list(r.get_json()["details"]) == ["image.1"]
    many = {"image": [(io.BytesIO(png(digit_like())), f"{i}.png") for i in range(9)]}
    r = client.post("/predict", data=many)
    assert r.status_code == 422 and "maximum is 8" in r.get_json()["details"]["image"][0]


def test_request_id(client):
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = client.get("/health")
    assert r.headers["X-Request-ID"]
    r = client.get("/nowhere", headers={"X-Request-ID": "x" * 500})
    assert len(r.headers["X-Request-ID"]) < 100


def test_config_layers(monkeypatch, tiny_models):
    monkeypatch.setenv("MLPSERVE_MODEL_DIR", str(tiny_models))
    monkeypatch.setenv("MLPSERVE_MAX_BATCH", "3")
    monkeypatch.setenv("MLPSERVE_LOG_LEVEL", "warning")
    app = create_app()
    assert app.config["MAX_BATCH"] == 3 and app.config["LOG_LEVEL"] == "WARNING"
    assert app.config["MODEL_DIR"] == str(tiny_models)
    assert app.config["MAX_REQUEST_BYTES"] == 8 * 1024 * 1024  # default
    app = create_app({"MAX_BATCH": 5})
    assert app.config["MAX_BATCH"] == 5  # overrides beat the environment
    monkeypatch.setenv("MLPSERVE_MAX_BATCH", "many")
    with pytest.raises(ConfigError, match="MAX_BATCH"):
        create_app()
    monkeypatch.setenv("MLPSERVE_MAX_BATCH", "4")
    monkeypatch.setenv("MLPSERVE_REQUIRED_MODELS", "mnist, moons")
    assert create_app().config["REQUIRED_MODELS"] == ("mnist", "moons")
    monkeypatch.setenv("MLPSERVE_REQUIRED_MODELS", "mnist,digits")
    r = create_app().test_client().get("/ready")
    assert r.status_code == 503 and r.get_json()["reasons"]["digits"].startswith("missing")
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        create_app({"MAX_BATCH": 2, "LOG_LEVEL": "loud"})


def test_a_server_bug_is_a_json_500_without_traceback(app, caplog):
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", view_func=boom)
    r = app.test_client().get("/boom")
    assert r.status_code == 500
    assert r.get_json() == {"error": "internal server error", "details": {}}
    assert "secret" not in r.get_data(as_text=True)
    assert "secret internals" in caplog.text  # logged, with its traceback, server-side
