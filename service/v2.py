"""Protocol V2, the Open Inference Protocol (KServe V2, Triton's HTTP API), over the dataplane.

``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``, model metadata and readiness (with and
without ``/versions/{version}``; the version is the model's version string) and ``POST
.../infer``, with the binary tensor extension both ways (requests: :mod:`service.v2_tensors`,
answers: :mod:`service.v2_outputs`). An image model takes ``images`` (UINT8/INT*/FP*, ``[n, 28,
28]`` or ``[n, 784]``; or ``BYTES`` ``[n]`` of encoded image files), a features model
``features`` ``[n, k]``; outputs follow the task.

Inputs reach the model through the same :class:`~service.dataplane.DataPlane` calls as v1's
(:func:`service.inputs.check_batch`, ``decode_images``, ``infer``), so V2 refuses what
``/predict`` refuses, with the same messages; only the status differs, KServe's: 400 for any
invalid input (v1 says 422 where the JSON parsed), 404 for an unknown model or version, 503 while
not ready. Infer is a row of the hot-route table, answered ahead of Flask.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, request

from . import v2_outputs as answers
from . import v2_tensors as tensors
from .dataplane import FIELD, DataPlane
from .engine import Model
from .errors import BadRequestError, InvalidInputError, ModelUnavailableError
from .inputs import check_batch, shape_text
from .metrics import NullMetrics
from .wsgi import Headers, HotRoute, json_response, read_body

SERVER = {"name": "mlpserve", "version": "0.1.0", "extensions": ["binary_tensor_data"]}
PLATFORM = "mlpserve-numpy"
INFER_PATH = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer")
# The outputs of each task, in the order they are listed and sent: name -> V2 datatype.
OUTPUTS = {
    "multiclass": {"probabilities": "FP32", "label": "INT64"},
    "binary": {"probability": "FP32", "label": "INT64"},
    "regression": {"value": "FP32"},
}
_NUMERIC = frozenset(tensors.NUMPY) - {"BOOL"}
_HEADER_KEY = "HTTP_" + tensors.HEADER.upper().replace("-", "_")
_NAMES = frozenset({"model_name", "model_version"})

bp = Blueprint("v2", __name__, url_prefix="/v2")


def accepts(media_type: str) -> bool:
    """Infer takes any Content-Type, as Triton does: the body is JSON, followed by binary tensor
    data when ``Inference-Header-Content-Length`` says so. Both reference clients send no type
    for JSON, KServe's ``application/octet-stream`` for binary data, ``curl -d`` a form type."""
    return True


class V2:
    """The V2 protocol over a dataplane."""

    def __init__(self, plane: DataPlane, metrics: NullMetrics, max_bytes: int):
        self.plane = plane
        self.metrics = metrics
        self.max_bytes = max_bytes

    def infer(self, name: str, version: str | None, environ: dict) -> tuple[bytes, Headers]:
        """``POST /v2/models/{name}[/versions/{version}]/infer`` -> body and headers."""
        started = time.perf_counter()
        model = self.plane.registry.get(name, version)
        environ["mlpserve.model"], environ["mlpserve.version"] = name, model.info.version
        body = read_body(environ, self.max_bytes)
        try:
            req, blobs = tensors.parse_request(body, environ.get(_HEADER_KEY))
            _check_names(req, model)
            field = FIELD[model.info.input_kind]
            x = self._batch(model, req["inputs"], blobs, field)
            decoded = time.perf_counter()
            out = self.plane.infer(model, x, field)
            inferred = time.perf_counter()
            results = outputs(model, out)
        except InvalidInputError as e:  # KServe's status for invalid input
            raise BadRequestError(e.message, e.details) from None
        head: dict[str, Any] = {"model_name": name, "model_version": model.info.version}
        if _all_binary(req):  # tritonclient's default request
            key = (name, model.info.version, model.task, out.shape)
            answer = answers.binary_response(key, head, results)
        else:
            if "id" in req:
                head["id"] = req["id"]
            answer = answers.response(head, select(results, req))
        encoded = time.perf_counter()
        self.metrics.inference(
            model, out, decoded - started, inferred - decoded, encoded - inferred
        )
        return answer

    def _batch(self, model: Model, inputs: list, blobs: list, field: str) -> np.ndarray:
        """The one input tensor -> the model's float32 batch (n, input_size), checked."""
        if len(inputs) != 1 or inputs[0]["name"] != field:
            names = [t["name"] for t in inputs]
            raise BadRequestError(
                f"model {model.info.name!r} takes one input, {field!r}",
                {"inputs": [f"Send one tensor named {field!r}; got {names}."]},
            )
        tensor, blob, path = inputs[0], blobs[0], "inputs.0"
        dt, shape = tensor["datatype"], tensor["shape"]
        if dt == "BYTES" and model.info.input_kind == "image":
            if len(shape) != 1:
                raise BadRequestError("invalid shape", {f"{path}.shape": ["BYTES takes [n]."]})
            self._check_size(shape[0], field)
            return self.plane.decode_images(tensors.decode(tensor, blob, path), model, field)
        if dt not in _NUMERIC:
            allowed = sorted(_NUMERIC) + (["BYTES"] if model.info.input_kind == "image" else [])
            raise BadRequestError(
                f"datatype {dt} not accepted", {f"{path}.datatype": [f"One of {allowed}."]}
            )
        info = model.info
        if tuple(shape[1:]) not in (info.input_shape, (model.input_size,)):
            want = [[-1, *info.input_shape], [-1, model.input_size]]
            raise BadRequestError(
                "invalid shape",
                {f"{path}.shape": [f"Must be {want[0]} or {want[1]} ({shape_text(model)})."]},
            )
        self._check_size(shape[0], field)
        arr = tensors.decode(tensor, blob, path)
        return check_batch(arr.reshape(shape[0], model.input_size), field, model)

    def _check_size(self, n: int, field: str) -> None:
        if n < 1:
            raise BadRequestError("empty batch", {field: ["Must hold at least one item."]})
        self.plane.check_batch_size(n, field)


def _check_names(req: dict, model: Model) -> None:
    """A body that names a model (KServe's client sends ``model_name``) must name the path's."""
    if not req.keys() & _NAMES:
        return
    for key, value in (("model_name", model.info.name), ("model_version", model.info.version)):
        if req.get(key, value) != value:
            raise BadRequestError(
                f"{key} does not match the path", {key: [f"The path's is {value!r}."]}
            )


def _all_binary(req: dict) -> bool:
    """No output named, every one asked for in binary by the request's default, and no ``id``."""
    params = req.get("parameters", {})
    return params.get("binary_data_output") is True and not req.get("outputs") and "id" not in req


def outputs(model: Model, out: np.ndarray) -> dict[str, np.ndarray]:
    """Raw outputs (n, output_size) -> the task's V2 outputs (``OUTPUTS``), as arrays."""
    if model.task == "regression":
        return {"value": out}
    labels = np.asarray(model.info.labels, np.int64)
    if model.task == "binary":
        p1 = out[:, 0]
        return {"probability": p1, "label": labels[(p1 >= 0.5).view(np.int8)]}
    return {"probabilities": out, "label": labels[out.argmax(axis=1)]}


def select(results: dict[str, np.ndarray], req: dict) -> list[tuple[dict, bytes]]:
    """The requested outputs (all when none is named), each encoded JSON or binary as asked."""
    default = req.get("parameters", {}).get("binary_data_output", False)
    wanted = req.get("outputs")
    if not wanted:
        return [answers.encode(name, value, default) for name, value in results.items()]
    chosen = []
    for i, o in enumerate(wanted):
        if o["name"] not in results:
            raise BadRequestError(
                f"unknown output {o['name']!r}",
                {f"outputs.{i}.name": [f"One of {list(results)}."]},
            )
        binary = o.get("parameters", {}).get("binary_data", default)
        chosen.append(answers.encode(o["name"], results[o["name"]], binary))
    return chosen


def metadata(model: Model) -> dict[str, Any]:
    """``GET /v2/models/{name}``: the tensors the model takes and gives."""
    info = model.info
    n_out = [-1] if model.task == "binary" else [-1, model.output_size]
    shapes = {"label": [-1], "probability": [-1], "probabilities": n_out, "value": n_out}
    return {
        "name": info.name,
        "versions": [info.version],
        "platform": PLATFORM,
        "inputs": [
            {"name": FIELD[info.input_kind], "datatype": "FP32", "shape": [-1, *info.input_shape]}
        ],
        "outputs": [
            {"name": n, "datatype": dt, "shape": shapes[n]} for n, dt in OUTPUTS[model.task].items()
        ],
    }


# -- the hot route ------------------------------------------------------------------------------


def hot_routes(v2: V2) -> list[HotRoute]:
    """``POST .../infer``, answered ahead of Flask (see :func:`service.wsgi.hot_routes`)."""

    def infer(environ: dict, match: re.Match) -> tuple[int, bytes, Headers]:
        if match["version"] is not None:  # the route's template, as Flask's routing names it
            environ["mlpserve.route"] = "/v2/models/<name>/versions/<version>/infer"
        body, headers = v2.infer(match["name"], match["version"], environ)
        return 200, body, headers

    return [HotRoute("/v2/models/<name>/infer", "POST", INFER_PATH, accepts, infer)]


# -- routes -------------------------------------------------------------------------------------


def _v2() -> V2:
    return current_app.extensions["mlpserve.v2"]


@bp.get("")
def server_metadata() -> Response:
    return json_response(SERVER)


@bp.get("/health/live")
def live() -> Response:
    return json_response({"live": _v2().plane.live()})


@bp.get("/health/ready")
def ready() -> Response:
    ok, _ = _v2().plane.ready()
    return json_response({"ready": ok}, 200 if ok else 503)


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name: str, version: str | None = None) -> Response:
    return json_response(metadata(_v2().plane.registry.get(name, version)))


@bp.get("/models/<name>/ready")
@bp.get("/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> Response:
    plane = _v2().plane
    try:
        plane.registry.get(name, version)
    except ModelUnavailableError:
        return json_response({"name": name, "ready": False}, 503)
    ok = not plane.draining()
    return json_response({"name": name, "ready": ok}, 200 if ok else 503)


@bp.post("/models/<name>/infer")
@bp.post("/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    """Infer through Flask, when the hot-route table is off."""
    body, headers = _v2().infer(name, version, request.environ)
    return Response(body, 200, headers)
