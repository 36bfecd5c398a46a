"""The WSGI edge: request ids, the capped body read, the hot-route table, the one error renderer.

Every answer of the app goes through here: Flask's routes (through :func:`handle_error` for
errors) and the hot routes, which are answered before Flask is reached at all. Both render errors
with :func:`error_reply`, so a request gets the same JSON error whichever way it went.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from .errors import BadRequestError, PayloadTooLargeError, ServiceError

log = logging.getLogger("mlpserve")

DUMPS_OPT = orjson.OPT_SERIALIZE_NUMPY
_DRAIN_LIMIT = 32 * 1024 * 1024  # read (and drop) at most this much of a refused body
_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
Headers = list[tuple[str, str]]


class App(Flask):
    """Flask, with ``OPTIONS`` answered in JSON like every other route."""

    def make_default_options_response(self) -> Response:
        rv = super().make_default_options_response()
        rv.set_data(orjson.dumps({"allow": sorted(rv.allow)}))
        rv.mimetype = "application/json"
        return rv


def json_response(payload: Any, status: int = 200, headers: Any = None) -> Response:
    """A Flask response of ``payload`` as JSON (NumPy arrays and scalars written directly)."""
    body = orjson.dumps(payload, option=DUMPS_OPT)
    return Response(body, status, headers, mimetype="application/json")


def mime(environ: dict) -> str:
    """The request's media type, lower case, without parameters (``""`` if none)."""
    return environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def read_body(environ: dict, cap: int) -> bytes:
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


# -- the hot-route table ------------------------------------------------------------------------


@dataclass(frozen=True)
class HotRoute:
    """One route answered ahead of Flask: ``method`` on a path matching ``pattern`` with a media
    type ``accepts`` takes. ``handler(environ, match)`` returns ``(status, body, headers)``;
    ``name`` is the route's template, as metrics and logs name it."""

    name: str
    method: str
    pattern: re.Pattern
    accepts: Callable[[str], bool]
    handler: Callable[[dict, re.Match], tuple[int, bytes, Headers]]


def hot_routes(wsgi_app, routes: list[HotRoute], config: Mapping):
    """WSGI middleware: answer the requests of ``routes`` here, pass the rest to Flask.

    Flask's request context, URL adapter, signals and response object cost about 80 µs per
    request, as much as the model's forward pass: with the same gunicorn, a one-image JSON
    ``/predict`` through Flask ran at 0.65x the bare-Flask ceiling, through this table at 0.83x
    (BENCHMARKS.md, `make bench`; ``MLPSERVE_HOT_ROUTES=0`` turns the table off to compare).
    """

    def app(environ, start_response):
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        for route in routes:
            match = route.method == method and route.pattern.fullmatch(path)
            if match and route.accepts(mime(environ)):
                environ["mlpserve.route"] = route.name
                return _answer(route, match, environ, start_response, config)
        return wsgi_app(environ, start_response)

    return app


def _answer(route: HotRoute, match, environ, start_response, config: Mapping):
    try:
        status, body, headers = route.handler(environ, match)
    except Exception as e:  # rendered like every other error, never a traceback
        status, payload, extra = error_reply(e, environ, config)
        body, headers = orjson.dumps(payload, option=DUMPS_OPT), list(extra.items())
        headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(len(body))))
    start_response(_STATUS_LINES[status], headers)
    return [body]


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


# -- the one error renderer ---------------------------------------------------------------------


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


def _http_message(e: HTTPException, environ: dict, config: Mapping) -> tuple[str, dict]:
    code = e.code or 500
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    if code == 404:
        return f"not found: no route {path}", {}
    if code == 405:
        allowed = ", ".join(sorted(getattr(e, "valid_methods", None) or []))
        return f"method {method} not allowed on {path}", {"method": [f"Allowed: {allowed}."]}
    if code == 413:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if 0 < length <= config["MAX_REQUEST_BYTES"]:  # werkzeug's cap on multipart parts
            return f"multipart body has more than {config['MAX_FORM_PARTS']} parts", {
                "image": [f"Send at most {config['MAX_BATCH']} files."]
            }
        return f"request body is over the {config['MAX_REQUEST_BYTES']}-byte cap", {}
    return f"{e.name.lower()}", {}


def error_reply(e: Exception, environ: dict, config: Mapping) -> tuple[int, dict, dict[str, str]]:
    """The one error handler's logic: status, ``{"error": ..., "details": {...}}`` and headers.

    Ours (:class:`ServiceError`) carry their status and details; werkzeug's HTTP errors (unknown
    route, wrong method, body over the cap while parsing a form) keep their status; anything else
    is a server bug: logged with its traceback, answered 500 without it. ``config`` gives the
    caps that messages quote (``MAX_REQUEST_BYTES``, ``MAX_FORM_PARTS``, ``MAX_BATCH``).
    """
    headers: dict[str, str] = {}
    if isinstance(e, ServiceError):
        status, payload = e.status, e.to_dict()
        headers.update(e.headers)
    elif isinstance(e, HTTPException):
        status = e.code or 500
        message, details = _http_message(e, environ, config)
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
    status, payload, headers = error_reply(e, request.environ, current_app.config)
    return json_response(payload, status, headers)


def note_flask_route() -> None:
    """Flask ``before_request`` hook: record the template of the route that answers
    (``/models/<name>``, never the raw path), for metrics and logs."""
    rule = request.url_rule
    request.environ["mlpserve.route"] = rule.rule if rule else "(unmatched)"
