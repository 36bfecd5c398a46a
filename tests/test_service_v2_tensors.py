"""The V2 tensor codec (requests: v2_tensors, answers: v2_outputs): round trips JSON and binary,
tritonclient's own bytes, and every refusal."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
import tritonclient.http as triton
from marshmallow import ValidationError
from tritonclient.http._utils import _get_inference_request

from service import v2_outputs as o
from service import v2_tensors as t
from service.errors import BadRequestError
from service.v2_schemas import InferenceRequest

NUMERIC = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
           "FP16", "FP32", "FP64"]  # fmt: skip


def sample(datatype: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    if datatype == "BOOL":
        return rng.random((2, 3)) < 0.5
    dtype = t.NUMPY[datatype]
    if dtype.kind == "f":
        return rng.standard_normal((2, 3)).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (2, 3), dtype=dtype, endpoint=True)


def body_of(outputs: list[tuple[dict, bytes]]) -> tuple[bytes, str | None]:
    """A request whose inputs are these encoded outputs (the codec is symmetric)."""
    inputs = []
    for entry, raw in outputs:
        entry = dict(entry)
        if raw or "parameters" in entry:
            entry["parameters"] = {"binary_data_size": len(raw)}
        inputs.append(entry)
    head = orjson.dumps({"inputs": inputs}, option=orjson.OPT_SERIALIZE_NUMPY)
    raw = b"".join(r for _, r in outputs)
    return head + raw, (str(len(head)) if raw else None)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("datatype", NUMERIC)
def test_numeric_round_trip(datatype, binary):
    arr = sample(datatype)
    entry, raw = o.encode("x", arr, binary)
    assert entry["datatype"] == datatype and entry["shape"] == [2, 3]
    req, blobs = t.parse_request(*body_of([(entry, raw)]))
    got = t.decode(req["inputs"][0], blobs[0], "inputs.0")
    if datatype.startswith("FP") and not binary:
        got = got.astype(arr.dtype)  # JSON numbers decode as float64, exactly what was written
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_bytes_round_trip(binary):
    items = [b"\x89PNG\r\n\x1a\n\x00\xff", b"", b"abc"]
    entry, raw = o.encode("images", items, binary)
    req, blobs = t.parse_request(*body_of([(entry, raw)]))
    assert t.decode(req["inputs"][0], blobs[0], "inputs.0") == items


def test_two_binary_inputs_are_split_in_order():
    a, b = np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((1, 2), np.float64)
    req, blobs = t.parse_request(*body_of([o.encode("a", a, True), o.encode("b", b, True)]))
    np.testing.assert_array_equal(t.decode(req["inputs"][0], blobs[0], "inputs.0"), a)
    np.testing.assert_array_equal(t.decode(req["inputs"][1], blobs[1], "inputs.1"), b)


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_requests_and_responses(binary):
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    inp = triton.InferInput("images", [3, 4], "UINT8")
    inp.set_data_from_numpy(x, binary_data=binary)
    out = triton.InferRequestedOutput("label", binary_data=binary)
    body, size = _get_inference_request([inp], "r1", [out], 0, False, False, 0, None, None)
    body = body if isinstance(body, bytes) else body.encode()
    req, blobs = t.parse_request(body, None if size is None else str(size))
    np.testing.assert_array_equal(t.decode(req["inputs"][0], blobs[0], "inputs.0"), x)
    assert req["id"] == "r1" and req["outputs"][0]["parameters"]["binary_data"] is binary

    labels = np.array([7, 2, 1], np.int64)
    head, headers = o.response({"model_name": "m"}, [o.encode("label", labels, binary)])
    length = dict(headers).get(t.HEADER)
    result = triton.InferResult.from_response_body(head, header_length=length and int(length))
    np.testing.assert_array_equal(result.as_numpy("label"), labels)
    assert (length is not None) is binary


def request(**tensor) -> dict:
    return {"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", **tensor}]}


def refused(body: dict | bytes, header: str | None = None, path: str = "inputs.0") -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(BadRequestError) as e:
        req, blobs = t.parse_request(raw, header)
        t.decode(req["inputs"][0], blobs[0], path)
    return e.value.details


@pytest.mark.parametrize(
    ("tensor", "key"),
    [
        ({"data": [1.5, 2]}, "inputs.0.data"),  # a float for an integer type
        ({"data": [True, 2]}, "inputs.0.data"),  # a boolean for a number
        ({"data": [1, 2, 3]}, "inputs.0.data"),  # more elements than the shape
        ({"data": [[1], 2]}, "inputs.0.data"),  # lists and elements mixed
        ({"data": [2**40, 1]}, "inputs.0.data"),  # beyond INT32
        ({"data": "12"}, "inputs.0.data"),  # not a list
        ({"data": [[[[[[[[[[1]]]]]]]]], 2]}, "inputs.0.data"),  # deeper than any shape
        ({}, "inputs.0"),  # no data at all
        ({"datatype": "BYTES", "data": ["not base64!"]}, "inputs.0.data"),
        ({"datatype": "FP32", "data": ["1", "2"]}, "inputs.0.data"),
    ],
)
def test_json_data_refusals(tensor, key):
    assert key in refused(request(**tensor))


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"inputs": []}, "inputs"),
        (request(shape=[-1], data=[]), "inputs.0.shape.0"),
        (request(datatype="INT4", data=[1]), "inputs.0.datatype"),
        (request(shape=[True], data=[1]), "inputs.0.shape.0"),
        ({**request(data=[1, 2]), "extra": 1}, "extra"),
        ({**request(data=[1, 2]), "id": 5}, "id"),
        ({**request(data=[1, 2]), "outputs": [{"name": "y", "parameters": {"binary_data": 1}}]},
         "outputs.0.parameters.binary_data"),
        ({**request(data=[1, 2]), "parameters": {"binary_data_output": "yes"}},
         "parameters.binary_data_output"),
    ],
)  # fmt: skip
def test_envelope_refusals_come_from_the_schema(body, key):
    assert key in refused(body)
    with pytest.raises(ValidationError):
        InferenceRequest().load(body)


@pytest.mark.parametrize(
    "body",
    [
        request(data=[1, 2]),
        {**request(data=[[1], [2]]), "id": "a",
         "parameters": {"anything": [1], "binary_data_output": True}},
        {**request(parameters={"binary_data_size": 8, "x": "y"}), "outputs": [{"name": "y"}]},
        {**request(data=[1, 2]), "model_name": "m", "model_version": "1"},
    ],
)  # fmt: skip
def test_the_fast_check_accepts_only_what_the_schema_accepts(body):
    assert t._plain(body)
    assert InferenceRequest().load(body) == body


def binary_request(size: int, declared: int) -> tuple[bytes, str]:
    head = json.dumps(request(parameters={"binary_data_size": declared})).encode()
    return head + b"\x01" * size, str(len(head))


@pytest.mark.parametrize(
    ("body", "header", "key"),
    [
        (*binary_request(8, 8)[:1], "x", t.HEADER),  # not a number
        (binary_request(8, 8)[0], "100000", t.HEADER),  # beyond the body
        (binary_request(8, 8)[0], "-3", t.HEADER),
        (*binary_request(9, 8), t.HEADER),  # more binary data than declared
        (*binary_request(4, 4), "inputs.0"),  # fewer bytes than the shape takes
    ],
)
def test_binary_refusals(body, header, key):
    assert key in refused(body, header)


def test_data_and_binary_together_are_refused():
    head = json.dumps(request(data=[1, 2], parameters={"binary_data_size": 8})).encode()
    assert "inputs.0" in refused(head + bytes(8), str(len(head)))


@pytest.mark.parametrize("blob", [b"\x05\x00\x00\x00ab", b"\x01\x00"])
def test_truncated_bytes_elements_are_refused(blob):
    head = json.dumps(
        {"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES",
                     "parameters": {"binary_data_size": len(blob)}}]}
    ).encode()  # fmt: skip
    assert "inputs.0" in refused(head + blob, str(len(head)))
