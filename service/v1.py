"""Protocol v1, the service's own JSON API: probes, model metadata and ``POST /predict``.

Endpoints take care of the HTTP-specific things -- the JSON envelope (marshmallow, in
:mod:`service.schemas`), multipart and raw image bodies, how a prediction is written (``label``,
``probabilities``, ``probability``, ``value``) -- and delegate everything else to the
:class:`~service.dataplane.DataPlane`. JSON ``/predict`` is also a row of the hot-route table
(:func:`hot_routes`), answered ahead of Flask by the same :meth:`V1.predict_json`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import orjson
from flask import Blueprint, Response, current_app, request

from .artifact import NAME_RE
from .dataplane import FIELD, DataPlane
from .engine import Model
from .errors import BadRequestError, InvalidInputError, UnsupportedMediaTypeError
from .images import CONTENT_TYPES
from .metrics import NullMetrics
from .schemas import body_kind, load_envelope, make_predict_schema, to_batch
from .wsgi import DUMPS_OPT, HotRoute, is_json, json_response, mime, read_body

bp = Blueprint("v1", __name__)
_SUPPORTED = "application/json, multipart/form-data (field 'image') or an image/* body"
_CARD_METRIC_KEYS = (
    "test_accuracy",
    "per_class_accuracy",
    "confusion_matrix",
    "test_mse",
    "test_mae",
    "noise_var",
)


class V1:
    """The v1 protocol over a dataplane: request bodies in, answer bodies out."""

    def __init__(self, plane: DataPlane, metrics: NullMetrics, max_bytes: int):
        self.plane = plane
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.schema = make_predict_schema(plane.max_batch)

    def predict_json(
        self, body: bytes, query_model: str | None = None, return_input: bool = False
    ) -> tuple[Model, bytes]:
        """``{"model"?: NAME, "images" | "features": [...]}`` -> (the model, the JSON answer).

        ``query_model`` is ``?model=``, which names the model for JSON bodies as for image ones
        (it must then agree with the body's ``model``, if any); ``return_input`` as for uploads.
        """
        started = time.perf_counter()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise BadRequestError(f"malformed JSON: {e}") from None
        clean = load_envelope(self.schema, data, self.plane.max_batch)
        kind = "image" if "images" in clean else "features"
        field = FIELD[kind]
        name = clean.get("model")
        if query_model is not None:
            _check_name(query_model)
            if name not in (None, query_model):
                raise InvalidInputError(
                    "two models named", {"model": ["The body and ?model= name different models."]}
                )
            name = query_model
        model = self.plane.model(name, kind)
        x = to_batch(clean[field], field, model, body_kind(body, data, field))
        return self._predict(model, x, field, started, return_input)

    def predict_uploads(
        self, blobs: list[bytes], name: str | None, return_input: bool = False
    ) -> tuple[Model, bytes]:
        """Encoded image files (multipart ``image`` parts or one raw body) -> the answer.

        With ``return_input`` each prediction also carries ``input``: the (28, 28) preprocessed
        image as fed to the model, rounded to integers 0-255 (the page draws it as "what the
        model saw").
        """
        started = time.perf_counter()
        if name is not None:
            _check_name(name)
        model = self.plane.model(name, "image")
        x = self.plane.decode_images(blobs, model, "image")
        return self._predict(model, x, "image", started, return_input)

    def _predict(
        self, model: Model, x: np.ndarray, field: str, started: float, with_input: bool = False
    ) -> tuple[Model, bytes]:
        decoded = time.perf_counter()
        out = self.plane.infer(model, x, field)
        inferred = time.perf_counter()
        payload = answer(model, out)
        if with_input:
            seen = np.rint(x).astype(np.uint8).reshape(len(x), *model.info.input_shape)
            for prediction, image in zip(payload["predictions"], seen, strict=True):
                prediction["input"] = image
        body = orjson.dumps(payload, option=DUMPS_OPT)
        encoded = time.perf_counter()
        self.metrics.inference(
            model, out, decoded - started, inferred - decoded, encoded - inferred
        )
        return model, body


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise InvalidInputError("invalid request", {"model": ["Not a valid model name."]})


def answer(model: Model, out: np.ndarray) -> dict[str, Any]:
    """The payload of a prediction: which model and version computed it, one entry per row."""
    return {
        "model": model.info.name,
        "model_version": model.info.version,
        "predictions": predictions(model, out),
    }


def predictions(model: Model, out: np.ndarray) -> list[dict[str, Any]]:
    """Raw outputs (n, output_size) -> one ``label``/``probabilities``/``value`` dict per row.

    Probabilities and values stay NumPy float32 (rows and scalars): ``orjson`` with
    ``OPT_SERIALIZE_NUMPY`` writes them directly, with float32's shortest round-trip digits.
    """
    labels = model.info.labels
    if model.task == "multiclass":
        idx = out.argmax(axis=1).tolist()
        return [{"label": labels[k], "probabilities": out[i]} for i, k in enumerate(idx)]
    if model.task == "binary":
        p1 = out[:, 0]
        pos = (p1 >= 0.5).tolist()
        return [
            {"label": labels[1] if up else labels[0], "probability": p1[i]}
            for i, up in enumerate(pos)
        ]
    if model.output_size == 1:
        return [{"value": v} for v in out[:, 0]]
    return [{"value": row} for row in out]


def describe(model: Model) -> dict[str, Any]:
    """A model's metadata as ``/models`` shows it, with its card's test metrics."""
    info = model.info
    d: dict[str, Any] = {
        "name": info.name,
        "version": info.version,
        "task": info.task,
        "input": {
            "kind": info.input_kind,
            "field": FIELD[info.input_kind],
            "shape": list(info.input_shape),
            "min": _json_float(info.input_min),
            "max": _json_float(info.input_max),
        },
        "layer_sizes": list(info.layer_sizes),
        "activations": list(info.activations),
        "sha256": info.sha256,
    }
    if info.labels is not None:
        d["labels"] = list(info.labels)
    metrics = (info.card or {}).get("metrics")
    if isinstance(metrics, dict):
        d["metrics"] = {k: metrics[k] for k in _CARD_METRIC_KEYS if k in metrics} or None
    else:
        d["metrics"] = None
    if info.card_error:
        d["card_error"] = info.card_error
    return d


def _json_float(v: float) -> float | None:
    # JSON has no infinities: an unbounded range is reported as null.
    return v if np.isfinite(v) else None


# -- the hot route ------------------------------------------------------------------------------


def hot_routes(v1: V1) -> list[HotRoute]:
    """JSON ``POST /predict``, answered ahead of Flask (see :func:`service.wsgi.hot_routes`)."""

    def predict(environ: dict, match: re.Match) -> tuple[int, bytes, list[tuple[str, str]]]:
        query = environ.get("QUERY_STRING")
        args = (
            {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()} if query else {}
        )
        model, body = v1.predict_json(
            read_body(environ, v1.max_bytes), args.get("model"), _return_input(args)
        )
        _note_model(environ, model)
        return 200, body, [("Content-Type", "application/json")]

    return [HotRoute("/predict", "POST", re.compile(r"/predict"), is_json, predict)]


def _note_model(environ: dict, model: Model) -> None:
    # For the access log and the metrics: which model and version answered.
    environ["mlpserve.model"] = model.info.name
    environ["mlpserve.version"] = model.info.version


# -- routes -------------------------------------------------------------------------------------


def _v1() -> V1:
    return current_app.extensions["mlpserve.v1"]


_HEALTH = orjson.dumps({"status": "ok"})


@bp.get("/health")
def health() -> Response:
    return Response(_HEALTH, 200, mimetype="application/json")


@bp.get("/ready")
def ready() -> Response:
    plane = _v1().plane
    ok, reasons = plane.ready()
    models = plane.registry.status()
    if ok:
        return json_response({"status": "ready", "models": models})
    return json_response({"status": "not ready", "reasons": reasons, "models": models}, 503)


@bp.get("/models")
def list_models() -> Response:
    registry = _v1().plane.registry
    snap = registry.snapshot
    return json_response(
        {
            "models": [describe(m) for m in snap.models.values()],
            "unavailable": snap.failures,
            "refused": snap.refused,
        }
    )


@bp.get("/models/<name>")
def show_model(name: str) -> Response:
    return json_response(describe(_v1().plane.registry.get(name)))


@bp.post("/predict")
def predict() -> Response:
    v1 = _v1()
    media_type = mime(request.environ)
    if is_json(media_type):  # when the hot-route table is off
        model, body = v1.predict_json(
            read_body(request.environ, v1.max_bytes), request.args.get("model"), _return_input()
        )
    elif media_type == "multipart/form-data":
        model, body = _predict_multipart(v1)
    elif media_type in CONTENT_TYPES:
        blob = read_body(request.environ, v1.max_bytes)
        model, body = v1.predict_uploads([blob], request.args.get("model"), _return_input())
    else:
        raise UnsupportedMediaTypeError(
            f"unsupported content type {media_type or '(none)'!r}",
            {"Content-Type": [f"Send {_SUPPORTED}."]},
        )
    _note_model(request.environ, model)
    return Response(body, 200, mimetype="application/json")


def _predict_multipart(v1: V1) -> tuple[Model, bytes]:
    files = request.files  # werkzeug enforces MAX_CONTENT_LENGTH and MAX_FORM_PARTS here (413)
    form = request.form
    details = {k: ["Unknown field."] for k in files if k != "image"}
    details.update({k: ["Unknown field."] for k in form if k != "model"})
    uploads = files.getlist("image")
    if not uploads:
        details["image"] = ["Missing data for required field: one or more image files."]
    if details:
        raise InvalidInputError("invalid request", details)
    name = form.get("model") or request.args.get("model")
    return v1.predict_uploads([f.read() for f in uploads], name, _return_input())


def _return_input(args: Mapping[str, str] | None = None) -> bool:
    """The query flag ``return_input`` (of ``args``, else Flask's request): ``1``/``true`` on,
    ``0``/``false``/absent off."""
    value = (request.args if args is None else args).get("return_input", "0").lower()
    if value not in ("0", "1", "false", "true"):
        raise InvalidInputError(
            "invalid request", {"return_input": ["Must be 1 or true (or 0, false)."]}
        )
    return value in ("1", "true")
