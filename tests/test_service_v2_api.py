"""V2 in-process, through the hot route and through Flask (the ``client`` fixture runs both).

What V2 refuses, ``/predict`` refuses with the same message (one dataplane); the statuses are
KServe's: 400 for invalid input, 404 for an unknown model or version, 503 while not ready.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from service import create_app

IMG = np.random.default_rng(5).integers(0, 256, (2, 784)).tolist()
VERSION = "20261123T200000Z"  # of every tiny model (tests/conftest.py)


def infer(client, body, model="mnist", **kw):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(f"/v2/models/{model}/infer", data=data, **kw)


def images(data=IMG, shape=(2, 784), datatype="UINT8", **extra) -> dict:
    tensor = {"name": "images", "shape": list(shape), "datatype": datatype, "data": data}
    return {"inputs": [tensor], **extra}


def test_outputs_follow_the_task(client):
    r = infer(client, images(id="x-1", parameters={"unknown": {"a": 1}}))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    body = r.get_json()
    assert body["id"] == "x-1" and body["model_version"] == VERSION
    probs, label = body["outputs"]
    assert (probs["name"], probs["datatype"], probs["shape"]) == ("probabilities", "FP32", [2, 10])
    assert (label["name"], label["datatype"], label["shape"]) == ("label", "INT64", [2])
    assert label["data"] == np.argmax(np.reshape(probs["data"], (2, 10)), axis=1).tolist()
    predict = client.post("/predict", json={"images": IMG}).get_json()["predictions"]
    assert label["data"] == [p["label"] for p in predict]

    feats = {"inputs": [{"name": "features", "shape": [1, 2], "datatype": "FP64",
                         "data": [[0.5, 0.25]]}]}  # fmt: skip
    assert [o["name"] for o in infer(client, feats, "moons").get_json()["outputs"]] == [
        "probability", "label"]  # fmt: skip
    feats["inputs"][0].update(shape=[2, 1], data=[0.5, 1.0])
    (value,) = infer(client, feats, "regression").get_json()["outputs"]
    assert (value["name"], value["shape"]) == ("value", [2, 1])


def test_requested_outputs_binary_and_json(client):
    body = images(outputs=[{"name": "label", "parameters": {"binary_data": True}},
                           {"name": "probabilities"}])  # fmt: skip
    r = infer(client, body, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/octet-stream"
    size = int(r.headers["Inference-Header-Content-Length"])
    head = json.loads(r.data[:size])
    assert [o["name"] for o in head["outputs"]] == ["label", "probabilities"]
    assert head["outputs"][0]["parameters"] == {"binary_data_size": 16}
    labels = np.frombuffer(r.data[size:], "<i8")
    probs = np.reshape(head["outputs"][1]["data"], (2, 10))
    assert labels.tolist() == probs.argmax(axis=1).tolist()
    r = infer(client, images(parameters={"binary_data_output": True}))
    assert len(r.data) - int(r.headers["Inference-Header-Content-Length"]) == 2 * 10 * 4 + 2 * 8


def test_versions_and_probes(client):
    assert infer(client, images(), f"mnist/versions/{VERSION}").status_code == 200
    r = infer(client, images(), "mnist/versions/19990101T000000Z")
    assert r.status_code == 404 and "version" in r.get_json()["details"]
    assert infer(client, images(), "nope").status_code == 404
    assert client.get(f"/v2/models/mnist/versions/{VERSION}/ready").get_json() == {
        "name": "mnist", "ready": True}  # fmt: skip
    assert client.get("/v2/models/nope/ready").status_code == 404
    assert client.get("/v2/health/live").get_json() == {"live": True}
    assert client.get("/v2/health/ready").get_json() == {"ready": True}
    assert "binary_tensor_data" in client.get("/v2").get_json()["extensions"]


def test_not_ready_is_503(tmp_path, tiny_models):
    (tiny_models / "broken.npz").write_bytes(b"not a zip")
    client = create_app({"MODEL_DIR": str(tiny_models), "RELOAD_INTERVAL": 0}).test_client()
    r = client.get("/v2/health/ready")
    assert (r.status_code, r.get_json()) == (503, {"ready": False})
    r = client.get("/v2/models/broken/ready")
    assert (r.status_code, r.get_json()) == (503, {"name": "broken", "ready": False})
    assert infer(client, images(), "broken").status_code == 503
    empty = create_app({"MODEL_DIR": str(tmp_path / "none")}).test_client()
    assert empty.get("/v2/health/ready").status_code == 503


def png(a: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(a.astype(np.uint8)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_bytes_images_go_through_the_upload_path(client):
    digit = np.zeros((28, 28)), np.zeros((28, 28))
    digit[0][6:22, 12:16] = 255
    body = images([png(digit[0])], (1,), "BYTES")
    assert infer(client, body).status_code == 200
    r = infer(client, images([png(digit[1])], (1,), "BYTES"))  # blank, as an upload is refused
    assert r.status_code == 400 and r.get_json()["error"] == "no digit in the image"
    r = infer(client, images(["AAAA"], (1,), "BYTES"))
    assert r.status_code == 400 and "images.0" in r.get_json()["details"]
    feats = {"inputs": [{"name": "features", "shape": [1], "datatype": "BYTES", "data": ["AA=="]}]}
    assert infer(client, feats, "moons").status_code == 400


@pytest.mark.parametrize(
    "bad",
    [
        [[300] + [0] * 783, [9] * 784],  # out of range
        [[-1] + [9] * 783, [9] * 784],
        [[0] * 784, [9] * 784],  # blank
    ],
)
def test_v2_refuses_what_predict_refuses(client, bad):
    v1 = client.post("/predict", json={"images": bad})
    v2 = infer(client, images(np.ravel(bad).tolist(), datatype="INT32"))
    assert (v1.status_code, v2.status_code) == (422, 400)
    assert v1.get_json() == v2.get_json()


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (images(shape=(2, 28, 27)), "inputs.0.shape"),
        (images(datatype="BOOL"), "inputs.0.datatype"),
        (images([], (0, 784)), "images"),
        (images([1] * 784 * 9, (9, 784)), "images"),  # over MAX_BATCH (8)
        ({"inputs": [{**images()["inputs"][0], "name": "features"}]}, "inputs"),
        (images(outputs=[{"name": "logits"}]), "outputs.0.name"),
        (images(model_name="moons"), "model_name"),
        (images(data=[[1.5] * 784] * 2, datatype="INT32"), "inputs.0.data"),
        (images(unknown=1), "unknown"),
    ],
)
def test_invalid_requests_are_400_with_a_path(client, body, key):
    r = infer(client, body)
    assert r.status_code == 400, r.data
    assert key in r.get_json()["details"]


def test_media_types_and_body_cap(client):
    assert infer(client, images(), content_type=None).status_code == 200
    assert infer(client, images(), content_type="application/json").status_code == 200
    assert (
        infer(client, images(), content_type="application/x-www-form-urlencoded").status_code == 200
    )
    assert infer(client, b"{", content_type="application/json").status_code == 400
    r = infer(client, b" " * (8 * 1024 * 1024 + 1))
    assert r.status_code == 413


def test_metrics_count_v2_by_route_template_model_and_label(client):
    label = infer(client, images()).get_json()["outputs"][1]["data"][0]
    infer(client, images(), f"mnist/versions/{VERSION}")
    text = client.get("/metrics").get_data(as_text=True)
    for route in ("/v2/models/<name>/infer", "/v2/models/<name>/versions/<version>/infer"):
        want = f'model_name="mnist",model_version="{VERSION}",route="{route}",status="200"'
        assert "mlpserve_requests_total{" + want in text
    assert f'mlpserve_predictions_total{{label="{label}",model_name="mnist"}}' in text
    assert 'mlpserve_request_stage_seconds_count{model_name="mnist",stage="decode"}' in text


def binary_request(pixels: np.ndarray) -> tuple[bytes, dict]:
    """tritonclient's default request: UINT8 pixels after the JSON, every output in binary."""
    tensor = {"name": "images", "shape": list(pixels.shape), "datatype": "UINT8",
              "parameters": {"binary_data_size": pixels.size}}  # fmt: skip
    head = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
    return head + pixels.astype(np.uint8).tobytes(), {
        "Inference-Header-Content-Length": str(len(head)),
        "Content-Type": "application/octet-stream",
    }


def test_repeated_binary_heads_answer_each_request(client):
    """The JSON heads kept for repeated binary requests and answers (service.v2_outputs) never
    carry one request's data or batch size into another's answer."""
    pixels = np.asarray(IMG, np.uint8)
    for rows in (pixels[:1], pixels[1:], pixels, pixels[:1]):
        body, headers = binary_request(rows)
        r = infer(client, body, headers=headers)
        size = int(r.headers["Inference-Header-Content-Length"])
        head = json.loads(r.data[:size])
        assert head["model_version"] == VERSION
        assert [o["shape"] for o in head["outputs"]] == [[len(rows), 10], [len(rows)]]
        probs = np.frombuffer(r.data[size : size + 40 * len(rows)], "<f4").reshape(-1, 10)
        labels = np.frombuffer(r.data[size + 40 * len(rows) :], "<i8")
        predict = client.post("/predict", json={"images": rows.tolist()}).get_json()
        assert labels.tolist() == [p["label"] for p in predict["predictions"]]
        np.testing.assert_allclose(
            probs[:, 0], [p["probabilities"][0] for p in predict["predictions"]], rtol=1e-6
        )
