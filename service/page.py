"""The drawing page: ``GET /`` and its two static assets, ``GET /page/<asset>``.

A person draws a digit (or drops a photo of one) and watches the model read it; the page calls
``POST /predict?return_input=1`` like any client and draws the 28x28 image the model saw. It is
plain HTML, CSS and JavaScript shipped in ``service/page/``: no CDN, no build step, no framework.
The files are read once at import (a few kB) and answered with an ETag and ``Cache-Control:
no-cache``, so a browser revalidates each load and gets ``304`` until the server is updated.
An unknown asset is a werkzeug ``NotFound``, rendered as JSON by the app's one error handler.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound

bp = Blueprint("page", __name__)

_DIR = Path(__file__).with_name("page")
_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
}
# Everything the page loads comes from this server; data: for the blank favicon, blob: for a
# dropped photo shown on the canvas.
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
}


def _load() -> dict[str, tuple[bytes, str]]:
    """Each asset's bytes and ETag (sha256 prefix of its content)."""
    files = {}
    for name in _TYPES:
        data = (_DIR / name).read_bytes()
        files[name] = (data, hashlib.sha256(data).hexdigest()[:16])
    return files


_FILES = _load()


def _send(name: str) -> Response:
    data, etag = _FILES[name]
    response = Response(data, 200, _HEADERS, content_type=_TYPES[name])
    response.set_etag(etag)
    return response.make_conditional(request)


@bp.get("/")
def index() -> Response:
    return _send("index.html")


@bp.get("/page/<asset>")
def asset(asset: str) -> Response:
    if asset not in _FILES:
        raise NotFound()
    return _send(asset)
