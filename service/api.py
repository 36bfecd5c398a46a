"""The HTTP layer: routes, body handling, the one error handler. The engine does the rest.

Per-request work on the hot path (one JSON image) is kept to: read the body straight from the
WSGI stream, ``orjson.loads``, the marshmallow envelope, one byte deletion to prove the arrays
hold plain integers, one ``np.array`` plus two reductions, the forward pass, ``orjson.dumps``.
That path is served by :func:`json_fast_path`, a WSGI middleware in front of Flask's routing;
every other route and content type goes through the Flask blueprint below. Both render errors with
:func:`error_reply`.
"""

from __future__ import annotations

import itertools
import logging
import os
from http import HTTPStatus
from typing import Any

import numpy as np
import orjson
from flask import Blueprint, Flask, Response, current_app, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from .budget import Limits
from .engine import NAME_RE, Engine, Model
from .errors import (
    BadRequestError,
    InvalidInputError,
    PayloadTooLargeError,
    ServiceError,
    UnsupportedMediaTypeError,
)
from .images import CONTENT_TYPES, images_to_mnist
from .schemas import body_kind, flatten_errors, make_predict_schema, to_batch

log = logging.getLogger("mlpserve")
bp = Blueprint("api", __name__)

_DUMPS_OPT = orjson.OPT_SERIALIZE_NUMPY
_DRAIN_LIMIT = 32 * 1024 * 1024  # read (and drop) at most this much of a refused body
_SUPPORTED = "application/json, multipart/form-data (field 'image') or an image/* body"


class Service:
    """What the views need, resolved once at start-up: the engine, limits, schema, defaults."""

    def __init__(self, engine: Engine, config: Any):
        self.engine = engine
        self.max_batch: int = config["MAX_BATCH"]
        self.max_bytes: int = config["MAX_REQUEST_BYTES"]
        self.image_limits = Limits(
            config["MAX_IMAGE_PIXELS"],
            config["MAX_REQUEST_PIXELS"],
            config["REQUEST_CPU_SECONDS"],
            config["REQUEST_DEADLINE_SECONDS"],
        )
        self.schema = make_predict_schema(self.max_batch)
        self.default_model = {
            "images": config["DEFAULT_IMAGE_MODEL"],
            "features": config["DEFAULT_FEATURES_MODEL"],
        }

    # JSON ---------------------------------------------------------------------------------

    def predict_json(self, body: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise BadRequestError(f"malformed JSON: {e}") from None
        try:
            clean = self.schema.load(data)
        except ValidationError as e:
            raise InvalidInputError("invalid request", flatten_errors(e.messages)) from None
        field = "images" if "images" in clean else "features"
        model = self._model(clean.get("model"), field)
        x = to_batch(clean[field], field, model, body_kind(body, data, field))
        return _answer(model, x, field)

    # Uploads ------------------------------------------------------------------------------

    def predict_images(self, blobs: list[bytes], name: str | None) -> dict[str, Any]:
        if len(blobs) > self.max_batch:
            raise InvalidInputError(
                "batch too large",
                {"image": [f"Holds {len(blobs)} items; the maximum is {self.max_batch}."]},
            )
        if name is not None and not NAME_RE.match(name):
            raise InvalidInputError("invalid request", {"model": ["Not a valid model name."]})
        model = self._model(name, "images")
        if model.input_shape != (28, 28):
            raise InvalidInputError(
                f"model {model.name!r} does not take 28x28 images",
                {"model": [f"Model {model.name!r} takes inputs of shape {model.input_shape}."]},
            )
        x = images_to_mnist(blobs, self.image_limits).reshape(len(blobs), 784)
        return _answer(model, x)

    def _model(self, name: str | None, field: str) -> Model:
        model = self.engine.get(name or self.default_model[field])
        want = "images" if model.input_kind == "image" else "features"
        if want != field:
            raise InvalidInputError(
                f"model {model.name!r} takes {want!r}",
                {field: [f"Model {model.name!r} takes '{want}', not '{field}'."]},
            )
        return model


def _answer(model: Model, x: np.ndarray, field: str = "image") -> dict[str, Any]:
    predictions = model.predict(x, field)
    return {"model": model.name, "model_version": model.version, "predictions": predictions}


def _svc() -> Service:
    return current_app.extensions["mlpserve"]


def _json(payload: Any, status: int = 200, headers: Any = None) -> Response:
    return Response(
        orjson.dumps(payload, option=_DUMPS_OPT), status, headers, mimetype="application/json"
    )


def _read_body(environ: dict, cap: int) -> bytes:
    """The request body, at most ``cap`` bytes (413 above), read straight from the WSGI stream."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            n = int(length)
        except ValueError:
            raise BadRequestError("invalid Content-Length header") from None
        if n > cap:
            raise PayloadTooLargeError(f"request body of {n} bytes is over the {cap}-byte cap")
        return stream.read(n)
    if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        data = stream.read(cap + 1)
        if len(data) > cap:
            raise PayloadTooLargeError(f"request body is over the {cap}-byte cap")
        return data
    return b""


# -- routes -------------------------------------------------------------------------------------

_HEALTH = orjson.dumps({"status": "ok"})


@bp.get("/health")
def health() -> Response:
    # Liveness: the process answers. Never looks at the models.
    return Response(_HEALTH, 200, mimetype="application/json")


@bp.get("/ready")
def ready() -> Response:
    engine = _svc().engine
    status = engine.status()
    if engine.ready:
        return _json({"status": "ready", "models": status["models"]})
    return _json(
        {"status": "not ready", "reasons": engine.failures, "models": status["models"]}, 503
    )


@bp.get("/models")
def list_models() -> Response:
    engine = _svc().engine
    return _json(
        {
            "models": [m.describe() for m in engine.models.values()],
            "unavailable": engine.failures,
        }
    )


@bp.get("/models/<name>")
def show_model(name: str) -> Response:
    return _json(_svc().engine.get(name).describe())


@bp.post("/predict")
def predict() -> Response:
    # JSON bodies never get here: json_fast_path answers them before Flask (see its docstring).
    svc = _svc()
    mime = _mime(request.environ)
    if mime == "multipart/form-data":
        return _json(_predict_multipart(svc))
    if mime in CONTENT_TYPES:
        blob = _read_body(request.environ, svc.max_bytes)
        return _json(svc.predict_images([blob], request.args.get("model")))
    raise UnsupportedMediaTypeError(
        f"unsupported content type {mime or '(none)'!r}",
        {"Content-Type": [f"Send {_SUPPORTED}."]},
    )


def _predict_multipart(svc: Service) -> dict[str, Any]:
    files = request.files  # werkzeug enforces MAX_CONTENT_LENGTH here (413)
    form = request.form
    details = {k: ["Unknown field."] for k in files if k != "image"}
    details.update({k: ["Unknown field."] for k in form if k != "model"})
    uploads = files.getlist("image")
    if not uploads:
        details["image"] = ["Missing data for required field: one or more image files."]
    if details:
        raise InvalidInputError("invalid request", details)
    name = form.get("model") or request.args.get("model")
    return svc.predict_images([f.read() for f in uploads], name)


# -- the one error handler ----------------------------------------------------------------------


def _drain(environ: dict) -> None:
    """Read what is left of a refused body, so that the client sees our 413 rather than a
    connection reset (up to ``_DRAIN_LIMIT`` bytes; beyond that the connection just closes)."""
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if stream is None or not 0 < length <= _DRAIN_LIMIT:
        return
    try:
        while stream.read(65536):
            pass
    except (OSError, ValueError):
        pass


def _http_message(
    e: HTTPException, environ: dict, max_bytes: int
) -> tuple[str, dict[str, list[str]]]:
    code = e.code or 500
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    if code == 404:
        return f"not found: no route {path}", {}
    if code == 405:
        allowed = ", ".join(sorted(getattr(e, "valid_methods", None) or []))
        return f"method {method} not allowed on {path}", {"method": [f"Allowed: {allowed}."]}
    if code == 413:
        return f"request body is over the {max_bytes}-byte cap", {}
    return f"{e.name.lower()}", {}


def error_reply(
    e: Exception, environ: dict, max_bytes: int
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The one error handler's logic: status, ``{"error": ..., "details": {...}}`` and headers.

    Ours (:class:`ServiceError`) carry their status and details; werkzeug's HTTP errors (unknown
    route, wrong method, body over the cap while parsing a form) keep their status; anything else
    is a server bug: logged with its traceback, answered 500 without it. Needs no Flask context,
    so that :func:`json_fast_path` renders errors exactly as the Flask handler does.
    """
    headers: dict[str, str] = {}
    if isinstance(e, ServiceError):
        status, payload = e.status, e.to_dict()
        headers.update(e.headers)
    elif isinstance(e, HTTPException):
        status = e.code or 500
        message, details = _http_message(e, environ, max_bytes)
        payload = {"error": message, "details": details}
        if status == 405 and getattr(e, "valid_methods", None):
            headers["Allow"] = ", ".join(e.valid_methods)
    else:
        log.exception(
            "unhandled error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        )
        return 500, {"error": "internal server error", "details": {}}, headers
    if status == 413:
        _drain(environ)
        headers["Connection"] = "close"
    return status, payload, headers


def handle_error(e: Exception) -> Response:
    """Flask's error handler for every exception: renders :func:`error_reply`."""
    if isinstance(e, HTTPException) and (e.code or 500) < 400:  # a routing redirect
        return e.get_response()
    status, payload, headers = error_reply(e, request.environ, _svc().max_bytes)
    return _json(payload, status, headers)


def register_error_handlers(app: Flask) -> None:
    """Route every exception, werkzeug's HTTP errors included, to :func:`handle_error`."""
    app.register_error_handler(Exception, handle_error)


# -- request ids --------------------------------------------------------------------------------


def with_request_id(wsgi_app):
    """WSGI middleware: echo the client's ``X-Request-ID`` (printable ASCII, <= 128 chars) or
    make one (``PID-COUNTER`` in hex), and put it on the response and in the environ, where the
    access log (``service.access_log``) reads it."""
    counter = itertools.count(1)

    def app(environ, start_response):
        rid = environ.get("HTTP_X_REQUEST_ID")
        if not rid or len(rid) > 128 or not (rid.isascii() and rid.isprintable()):
            rid = f"{os.getpid():x}-{next(counter):x}"
        environ["mlpserve.request_id"] = rid

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", rid))
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return app


# -- the JSON fast path -------------------------------------------------------------------------

_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


def _mime(environ: dict) -> str:
    return environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()


def _is_json(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def json_fast_path(wsgi_app, svc: Service):
    """WSGI middleware: answer ``POST /predict`` with a JSON body here; pass the rest to Flask.

    This is the hot path of the service. Flask's request context, URL adapter, signals and
    response object cost about 80 µs per request, as much as the model's forward pass: measured
    with the same gunicorn, it held a one-image JSON request to about 0.65x the throughput of a
    bare Flask app. The middleware does only what that route needs -- the capped body read,
    :meth:`Service.predict_json`, ``orjson.dumps`` -- and renders errors with the same
    :func:`error_reply` as Flask's handler, so both paths answer alike.
    """

    def app(environ, start_response):
        if (
            environ.get("PATH_INFO") != "/predict"
            or environ.get("REQUEST_METHOD") != "POST"
            or not _is_json(_mime(environ))
        ):
            return wsgi_app(environ, start_response)
        headers: dict[str, str] = {}
        try:
            status, payload = 200, svc.predict_json(_read_body(environ, svc.max_bytes))
        except Exception as e:  # rendered like every other error, never a traceback
            status, payload, headers = error_reply(e, environ, svc.max_bytes)
        body = orjson.dumps(payload, option=_DUMPS_OPT)
        start_response(
            _STATUS_LINES[status],
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *headers.items(),
            ],
        )
        return [body]

    return app
