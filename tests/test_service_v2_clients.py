"""V2 with the reference clients against the real gunicorn on 127.0.0.1.

``tritonclient.http`` (its defaults: binary tensor data both ways; and JSON), and KServe's
``InferenceRESTClient``, which runs in its own virtualenv (``tests/kserve_env.py``): every digit of
an MNIST test subset gets the same label through V2 as through ``/predict``.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from PIL import Image
from tritonclient.utils import InferenceServerException

import kserve_env
import live

N_DIGITS = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory, served_models) -> Iterator[live.Server]:
    log = tmp_path_factory.mktemp("v2") / "gunicorn.log"
    s = live.start(served_models, log, 2, 200, {"MLPSERVE_MAX_BATCH": "64"})
    yield s
    live.stop(s)


@pytest.fixture(scope="module")
def client(server) -> Iterator[triton.InferenceServerClient]:
    c = triton.InferenceServerClient(f"127.0.0.1:{server.port}", connection_timeout=10)
    yield c
    c.close()


@pytest.fixture(scope="module")
def want(server, mnist_digits) -> np.ndarray:
    """The labels ``/predict`` gives the first digits."""
    r = server.post(json={"images": mnist_digits[0][:N_DIGITS].tolist()})
    assert r.status_code == 200, r.text
    return np.array([p["label"] for p in r.json()["predictions"]])


def png(digit: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(digit).save(buf, "PNG")
    return buf.getvalue()


def images_input(x: np.ndarray, datatype: str, binary: bool) -> triton.InferInput:
    inp = triton.InferInput("images", list(x.shape), datatype)
    inp.set_data_from_numpy(x, binary_data=binary)
    return inp


def test_health_and_metadata(client, server):
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata()
    assert meta["name"] == "mlpserve" and "binary_tensor_data" in meta["extensions"]
    model = client.get_model_metadata("mnist")
    version = model["versions"][0]
    assert model["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 28, 28]}]
    assert [o["name"] for o in model["outputs"]] == ["probabilities", "label"]
    assert client.get_model_metadata("mnist", version)["name"] == "mnist"
    assert client.is_model_ready("mnist") and client.is_model_ready("mnist", version)
    assert not client.is_model_ready("mnist", "19700101T000000Z")
    assert not client.is_model_ready("nope")
    with pytest.raises(InferenceServerException) as e:
        client.get_model_metadata("mnist", "19700101T000000Z")
    assert e.value.status() == "404"


@pytest.mark.parametrize("datatype", ["UINT8", "INT32", "FP32"])
def test_binary_in_and_out_match_predict(client, mnist_digits, want, datatype):
    x = mnist_digits[0][:N_DIGITS].astype(triton.triton_to_np_dtype(datatype))
    result = client.infer("mnist", [images_input(x, datatype, binary=True)])
    assert result.get_response()["outputs"][0]["parameters"]["binary_data_size"] > 0
    np.testing.assert_array_equal(result.as_numpy("label"), want)
    probs = result.as_numpy("probabilities")
    assert probs.dtype == np.float32 and probs.shape == (N_DIGITS, 10)
    np.testing.assert_array_equal(probs.argmax(axis=1), want)


def test_json_in_and_out_flat_with_version_and_id(client, mnist_digits, want):
    version = client.get_model_metadata("mnist")["versions"][0]
    x = mnist_digits[0][:N_DIGITS].reshape(N_DIGITS, 784).astype(np.int64)
    out = triton.InferRequestedOutput("label", binary_data=False)
    result = client.infer(
        "mnist",
        [images_input(x, "INT64", binary=False)],
        model_version=version,
        outputs=[out],
        request_id="req-7",
    )
    response = result.get_response()
    assert response["id"] == "req-7" and response["model_version"] == version
    assert [o["name"] for o in response["outputs"]] == ["label"]
    assert "data" in response["outputs"][0]
    np.testing.assert_array_equal(result.as_numpy("label"), want)


def test_bytes_png(client, mnist_digits, want):
    blobs = np.array([png(d) for d in mnist_digits[0][:8]], dtype=np.object_)
    inp = triton.InferInput("images", [8], "BYTES")
    inp.set_data_from_numpy(blobs, binary_data=True)
    result = client.infer("mnist", [inp], outputs=[triton.InferRequestedOutput("label")])
    labels = result.as_numpy("label")
    assert (labels == want[:8]).mean() >= 0.75  # re-centred as uploads are: nearly all the same


def test_features_and_binary_models(client):
    x = np.array([[0.5], [-1.0]], np.float32)
    inp = triton.InferInput("features", [2, 1], "FP32")
    inp.set_data_from_numpy(x)
    value = client.infer("regression", [inp]).as_numpy("value")
    assert value.shape == (2, 1) and value.dtype == np.float32
    inp = triton.InferInput("features", [1, 2], "FP64")
    inp.set_data_from_numpy(np.array([[0.5, 0.25]]))
    result = client.infer("moons", [inp])
    assert result.as_numpy("label").tolist()[0] in (0, 1)
    assert 0 <= result.as_numpy("probability")[0] <= 1


@pytest.mark.parametrize(
    ("shape", "datatype", "data", "status"),
    [
        ([1, 27, 28], "UINT8", np.zeros((1, 27, 28), np.uint8), "400"),  # wrong shape
        ([1, 784], "FP32", np.full((1, 784), 300, np.float32), "400"),  # out of range
        ([1, 784], "FP32", np.full((1, 784), np.nan, np.float32), "400"),  # not finite
        ([1, 784], "UINT8", np.zeros((1, 784), np.uint8), "400"),  # blank: no ink
        ([65, 784], "UINT8", np.full((65, 784), 9, np.uint8), "400"),  # over the batch cap
    ],
)
def test_invalid_inputs_are_400(client, shape, datatype, data, status):
    with pytest.raises(InferenceServerException) as e:
        client.infer("mnist", [images_input(data, datatype, binary=True)])
    assert e.value.status() == status, e.value.message()


def test_unknown_model_is_404(client, mnist_digits):
    inp = images_input(mnist_digits[0][:1], "UINT8", binary=True)
    with pytest.raises(InferenceServerException) as e:
        client.infer("nope", [inp])
    assert e.value.status() == "404"


def test_kserve_rest_client_matches_predict(server, mnist_digits, want, tmp_path):
    python = kserve_env.python()
    np.save(tmp_path / "digits.npy", mnist_digits[0][:N_DIGITS])
    script = Path(__file__).with_name("kserve_client.py")
    done = subprocess.run(
        [str(python), str(script), server.url, str(tmp_path / "digits.npy")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["live"] is True and got["ready"] is True and got["model_ready"] is True
    assert got["labels"] == want.tolist()
    assert got["labels_json"] == want.tolist()
