"""Integration: the real gunicorn (service/gunicorn.conf.py) on 127.0.0.1, driven with requests.

Two servers start once per session: ``server`` over a clean model directory (a real trained MNIST
model plus small regression and binary models), and ``broken_server`` whose directory also holds
a pickled and a corrupt artifact.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

import live
from service import v1
from service.engine import load_model

ROOT = Path(__file__).resolve().parent.parent
BODY_CAP = 512 * 1024
LIMITS = {"MLPSERVE_MAX_REQUEST_BYTES": str(BODY_CAP), "MLPSERVE_MAX_BATCH": "64"}


@pytest.fixture(scope="session")
def server(served_models, tmp_path_factory) -> Iterator[live.Server]:
    s = live.start(served_models, tmp_path_factory.mktemp("logs") / "gunicorn.log", 2, 200, LIMITS)
    yield s
    live.stop(s)


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/mlpserve-pickle-was-executed",))


@pytest.fixture(scope="session")
def broken_server(served_models, tmp_path_factory) -> Iterator[live.Server]:
    folder = tmp_path_factory.mktemp("broken") / "models"
    shutil.copytree(served_models, folder)
    (folder / "pickled.npz").write_bytes(pickle.dumps(_Payload()))
    (folder / "corrupt.npz").write_bytes((folder / "moons.npz").read_bytes()[:300])
    s = live.start(folder, tmp_path_factory.mktemp("logs") / "broken.log", 1, 503, LIMITS)
    yield s
    live.stop(s)


@pytest.fixture(scope="session")
def engine_model(mnist_npz):
    return load_model(mnist_npz)


def png(a: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt)
    return buf.getvalue()


def large_dark_on_light(digit: np.ndarray) -> np.ndarray:
    big = np.asarray(Image.fromarray(digit).resize((196, 196), Image.Resampling.BILINEAR))
    page = np.full((300, 260), 255, np.uint8)
    page[70:266, 20:216] = 255 - big
    return page


# -- predictions --------------------------------------------------------------------------------


def test_json_predictions_match_the_engine(server, mnist_digits, engine_model):
    X, y = mnist_digits
    batch = X[:20]
    r = server.post(json={"images": batch.tolist()})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["model"] == "mnist" and body["model_version"] == engine_model.info.version
    want = engine_model.forward(batch.reshape(20, 784).astype(np.float32))
    got = np.array([p["probabilities"] for p in body["predictions"]])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    labels = np.array([p["label"] for p in body["predictions"]])
    assert (labels == y[:20]).mean() >= 0.85
    flat = server.post(json={"model": "mnist", "images": [X[0].ravel().tolist()]}).json()
    assert flat["predictions"][0]["label"] == labels[0]


def test_features_and_binary(server):
    r = server.post(json={"features": [[0.0], [1.5]]})
    assert r.status_code == 200 and r.json()["model"] == "regression"
    assert all(isinstance(p["value"], float) for p in r.json()["predictions"])
    r = server.post(json={"model": "moons", "features": [[0.5, 0.25]]})
    (p,) = r.json()["predictions"]
    assert p["label"] in (0, 1) and 0 <= p["probability"] <= 1


def test_multipart_and_raw_image_predictions(server, mnist_digits, engine_model):
    X, _ = mnist_digits
    want = [
        p["label"]
        for p in v1.predictions(
            engine_model, engine_model.forward(X[:3].reshape(3, 784).astype(np.float32))
        )
    ]
    files = [
        ("image", ("a.png", png(large_dark_on_light(X[0])), "image/png")),
        ("image", ("b.jpg", png(large_dark_on_light(X[1]), "JPEG"), "image/jpeg")),
        ("image", ("c.webp", png(large_dark_on_light(X[2]), "WEBP"), "image/webp")),
    ]
    r = server.post(files=files)
    assert r.status_code == 200, r.text
    assert [p["label"] for p in r.json()["predictions"]] == want
    r = server.post(data=png(large_dark_on_light(X[0])), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"][0]["label"] == want[0]
    r = server.post(
        "/predict?model=mnist",
        data=png(large_dark_on_light(X[1]), "BMP"),
        headers={"Content-Type": "image/bmp"},
    )
    assert r.json()["predictions"][0]["label"] == want[1]


def test_200_requests_from_8_threads(server, mnist_digits, engine_model):
    X, _ = mnist_digits
    n = 200
    flat = X[:n].reshape(n, 784).astype(np.float32)
    want = [p["label"] for p in v1.predictions(engine_model, engine_model.forward(flat))]

    def one(i: int) -> tuple[int, int, int]:
        with requests.Session() as s:
            r = s.post(server.url + "/predict", json={"images": [X[i].tolist()]}, timeout=30)
            return i, r.status_code, r.json()["predictions"][0]["label"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(n)))
    assert all(status == 200 for _, status, _ in results)
    assert [label for _, _, label in results] == want


# -- probes and metadata ------------------------------------------------------------------------


def test_probes_and_metadata(server, mnist_npz):
    assert server.get("/health").json() == {"status": "ok"}
    r = server.get("/ready")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    names = {m["name"] for m in server.get("/models").json()["models"]}
    assert names == {"mnist", "regression", "moons"}
    m = server.get("/models/mnist").json()
    import hashlib

    assert m["sha256"] == hashlib.sha256(mnist_npz.read_bytes()).hexdigest()
    assert m["task"] == "multiclass" and m["labels"] == list(range(10))
    if mnist_npz.with_suffix(".json").exists():
        assert 0.5 < m["metrics"]["test_accuracy"] <= 1


def test_workers_run_one_blas_thread_and_log_request_ids(server):
    r = server.get("/health", headers={"X-Request-ID": "trace-me-42"})
    assert r.headers["X-Request-ID"] == "trace-me-42"
    workers = subprocess.run(
        ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) == 2
    for pid in workers:
        status = Path(f"/proc/{pid}/status").read_text()
        # OpenBLAS starts its thread pool when loaded unless told to use one thread: the
        # gunicorn config sets that (the test removed it from the environment above).
        assert "\nThreads:\t1\n" in status
    deadline = time.monotonic() + 5
    while "rid=trace-me-42" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(x for x in server.log.read_text().splitlines() if "rid=trace-me-42" in x)
    assert '"GET /health HTTP/1.1" 200' in line and "us rid=" in line


def test_a_broken_artifact_makes_ready_503_and_the_rest_serves(broken_server, mnist_digits):
    assert broken_server.get("/health").status_code == 200
    r = broken_server.get("/ready")
    assert r.status_code == 503
    reasons = r.json()["reasons"]
    assert set(reasons) == {"pickled", "corrupt"}
    assert "pickle" in reasons["pickled"]
    assert not Path("/tmp/mlpserve-pickle-was-executed").exists()
    r = broken_server.post(json={"images": [mnist_digits[0][0].tolist()]})
    assert r.status_code == 200
    assert broken_server.post(json={"features": [[1.0]]}).status_code == 200
    r = broken_server.post(json={"model": "pickled", "features": [[1.0]]})
    assert r.status_code == 503 and "pickle" in r.json()["details"]["model"][0]
    assert broken_server.get("/models").json()["unavailable"].keys() == {"pickled", "corrupt"}


# -- every error status over the wire -----------------------------------------------------------

IMG = [[255 if 10 <= c < 14 else 0 for c in range(28)] for _ in range(28)]  # a bar of ink


def _case(server: live.Server, case: str, bomb_png) -> requests.Response:
    json_ct = {"Content-Type": "application/json"}
    if case == "malformed json":
        return server.post(data=b'{"images": [[1, 2', headers=json_ct)
    if case == "undecodable image":
        return server.post(data=b"GIF89a-not-really", headers={"Content-Type": "image/gif"})
    if case == "unknown model":
        return server.post(json={"model": "nope", "images": [IMG]})
    if case == "unknown route":
        return server.get("/nope")
    if case == "wrong method":
        return server.get("/predict")
    if case == "oversized json":
        return server.post(data=b" " * (BODY_CAP + 1), headers=json_ct)
    if case == "oversized image":
        return server.post(data=b"\x00" * (3 * BODY_CAP), headers={"Content-Type": "image/png"})
    if case == "oversized multipart":
        return server.post(files={"image": ("a.png", b"\x00" * (2 * BODY_CAP), "image/png")})
    if case == "unsupported type":
        return server.post(data=b"images=1", headers={"Content-Type": "text/csv"})
    if case == "no content type":
        return server.post(data=b"{}", headers={"Content-Type": ""})
    if case == "wrong shape":
        return server.post(json={"images": [[[1, 2, 3]]]})
    if case == "non-numeric":
        return server.post(json={"images": [[["x"] * 28] * 28]})
    if case == "NaN":
        return server.post(data=b'{"features": [[NaN]]}', headers=json_ct)
    if case == "out of range":
        return server.post(json={"images": [[[999] * 28] * 28]})
    if case == "empty batch":
        return server.post(json={"images": []})
    if case == "batch too large":
        return server.post(json={"features": [[1.0]] * 65})
    if case == "feature count":
        return server.post(json={"features": [[1.0, 2.0]]})
    if case == "image over pixel cap":
        bomb = bomb_png(60_000, 60_000)
        return server.post(data=bomb, headers={"Content-Type": "image/png"})
    raise AssertionError(case)


ERRORS = {
    "malformed json": 400,
    "NaN": 400,  # not JSON: orjson refuses NaN literals
    "undecodable image": 400,
    "unknown model": 404,
    "unknown route": 404,
    "wrong method": 405,
    "oversized json": 413,
    "oversized image": 413,
    "oversized multipart": 413,
    "unsupported type": 415,
    "no content type": 415,
    "wrong shape": 422,
    "non-numeric": 422,
    "out of range": 422,
    "empty batch": 422,
    "batch too large": 422,
    "feature count": 422,
    "image over pixel cap": 422,
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_error_statuses(server, case, bomb_png):
    r = _case(server, case, bomb_png)
    assert r.status_code == ERRORS[case], r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"error", "details"} and body["error"]
    assert "Traceback" not in r.text


def test_no_client_input_causes_a_5xx(server):
    json_ct = {"Content-Type": "application/json"}
    bodies = [
        b"", b"null", b"[]", b"{}", b'"x"', b"1e999", b'{"images": {}}', b'{"images": [[]]}',
        b'{"images": [[[]]]}', b'{"images": [' + b"[" * 500 + b"]" * 500 + b"]}",
        b'{"features": [[1e308]]}', b'{"features": [[-0.0]], "model": "regression"}',
        b'{"images": [null], "model": null}', b'\xff\xfe{"a": 1}',
        b'{"model": "' + b"a" * 5000 + b'"}', b'{"features": [[18446744073709551616]]}',
        b'{"features": [[true]], "model": "moons"}',
    ]  # fmt: skip
    responses = [server.post(data=body, headers=json_ct) for body in bodies]
    for ctype in ("multipart/form-data", "multipart/form-data; boundary=x", "image/png", "image/"):
        responses.append(server.post(data=b"--x\r\nnonsense", headers={"Content-Type": ctype}))
    for r in responses:
        assert r.status_code < 500, (r.request.body[:60], r.status_code, r.text)
        assert r.status_code == 200 or set(r.json()) == {"error", "details"}
    # Only -0.0 and 2**64 (JSON allows both; orjson reads the latter as a float) are valid.
    assert sum(r.status_code == 200 for r in responses) == 2
