"""Run by ``tests/test_service_v2_clients.py`` in the KServe client's venv (``kserve_env``).

``python kserve_client.py URL DIGITS.npy``: probes the server with KServe's
``InferenceRESTClient`` (protocol v2), sends the uint8 digits (n, 28, 28) once as binary tensor
data and once as JSON, and prints one JSON line: the probes and both label lists.
"""

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


def request(x: np.ndarray, datatype: str, binary: bool) -> InferRequest:
    inp = InferInput("images", list(x.shape), datatype)
    inp.set_data_from_numpy(x, binary_data=binary)
    return InferRequest(model_name="mnist", infer_inputs=[inp], request_id="kserve-1")


def labels(response) -> list[int]:
    return next(o for o in response.outputs if o.name == "label").as_numpy().tolist()


async def main(url: str, path: str) -> dict:
    x = np.load(path)
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
    try:
        out = {
            "live": await client.is_server_live(url),
            "ready": await client.is_server_ready(url),
            "model_ready": await client.is_model_ready(url, "mnist"),
        }
        binary = await client.infer(url, request(x, "UINT8", True), model_name="mnist")
        flat = x.reshape(len(x), -1).astype(np.int32)
        as_json = await client.infer(url, request(flat, "INT32", False), model_name="mnist")
        out.update(labels=labels(binary), labels_json=labels(as_json), id=binary.id)
        return out
    finally:
        await client.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
