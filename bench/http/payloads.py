"""What each server is sent and answers: request bodies per protocol, labels from answers.

Every body carries the same MNIST images (int pixels, (n, 784)): v1 JSON `{"images": ...}`,
KServe V1 `{"instances": ...}`, V2 JSON (INT32), and V2 with the binary tensor extension (UINT8
after the JSON, outputs asked back in binary, as `tritonclient` sends by default).
"""

import json


def images_json(images: list[list[int]]) -> bytes:
    return json.dumps({"images": images}, separators=(",", ":")).encode()


def instances_json(images: list[list[int]]) -> bytes:
    return json.dumps({"instances": images}, separators=(",", ":")).encode()


def v2_json(images: list[list[int]]) -> bytes:
    flat = [v for image in images for v in image]
    tensor = {"name": "images", "shape": [len(images), 784], "datatype": "INT32", "data": flat}
    return json.dumps({"inputs": [tensor]}, separators=(",", ":")).encode()


def v2_binary(images: list[list[int]]) -> bytes:
    """The binary tensor extension, as tritonclient sends by default: UINT8 pixels after the JSON,
    every output asked back in binary."""
    tensor = {"name": "images", "shape": [len(images), 784], "datatype": "UINT8",
              "parameters": {"binary_data_size": 784 * len(images)}}  # fmt: skip
    head = {"inputs": [tensor], "parameters": {"binary_data_output": True}}
    return json.dumps(head, separators=(",", ":")).encode() + bytes(v for i in images for v in i)


def v2_binary_headers(body: bytes) -> dict[str, str]:
    _, size = json.JSONDecoder().raw_decode(body.decode("latin-1"))
    return {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(size),
    }


def v2_labels(body: dict) -> list[int]:
    out = next(o for o in body["outputs"] if o["name"] == "label")
    if "data" in out:
        return [int(v) for v in out["data"]]
    offset = 0  # binary: the outputs' data follows the JSON in their order
    for o in body["outputs"]:
        if o is out:
            break
        offset += o["parameters"]["binary_data_size"]
    raw = body["_binary"][offset : offset + out["parameters"]["binary_data_size"]]
    return [int(v) for v in memoryview(raw).cast("q")]


def prediction_labels(body: dict) -> list[int]:
    return [int(p["label"]) for p in body["predictions"]]
