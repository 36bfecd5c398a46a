"""Crafted uploads: every request within the body cap gets a 2xx, or a 4xx/503 JSON answer naming
the field and the reason, with bounded work (service/budget.py). The catalogue is in
``crafted_uploads.py``, which also measures its CPU cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from crafted_uploads import (
    blank,
    catalogue,
    digit_canvas,
    jpeg_repeating_scans,
    multipart,
    rle_end_of_lines,
)
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import live

# -- the tests: the catalogue scaled to a 1024^2 per-image cap and a 2 MiB body ----------------

SIDE = 1024
CAP = 2 * 1024 * 1024
CASES = catalogue(SIDE, CAP)
LIMITS = {"MAX_REQUEST_BYTES": CAP, "MAX_IMAGE_PIXELS": SIDE**2, "MAX_REQUEST_PIXELS": 2 * SIDE**2}
# The cases cut by the CPU limit run against a tight one: uncut, they cost 2-6 s at this body cap
# (1-3 µs a byte); the others run with the default 1 s (the dearest costs 0.15 s).
TIGHT_CPU_SECONDS = 0.05


@pytest.fixture(scope="module")
def models(tmp_path_factory, make_tiny_models) -> Path:
    return make_tiny_models(tmp_path_factory.mktemp("uploads") / "models")


def app_client(models: Path, **config: Any) -> FlaskClient:
    from service import create_app

    return create_app({"MODEL_DIR": str(models), "TESTING": True, **config}).test_client()


@pytest.fixture(scope="module")
def client(models) -> FlaskClient:
    return app_client(models, **LIMITS)


@pytest.fixture(scope="module")
def tight_client(models) -> FlaskClient:
    return app_client(models, **LIMITS, REQUEST_CPU_SECONDS=TIGHT_CPU_SECONDS)


def post(client: FlaskClient, blobs: list[bytes]) -> TestResponse:
    body, content_type = multipart(blobs)
    return client.post("/predict", data=body, content_type=content_type)


@pytest.mark.parametrize("name", list(CASES))
def test_crafted_upload_gets_json_naming_the_field_and_reason(client, tight_client, name):
    make, status, field, words = CASES[name]
    blobs = make()
    r = post(tight_client if words == "CPU" else client, blobs)
    assert (r.status_code, r.mimetype) == (status, "application/json"), r.get_data()[:400]
    payload = r.get_json()
    if status == 200:
        assert len(payload["predictions"]) == len(blobs)
    else:
        assert words in " ".join(payload["details"][field]), payload


def test_the_pixel_budget_is_checked_before_decoding_and_names_the_numbers(client):
    blank_webp = blank("RGBA", "WEBP", SIDE, lossless=True)
    r = post(client, [blank_webp] * 3)
    assert r.status_code == 422
    assert r.get_json() == {
        "error": "request over the pixel budget",
        "details": {
            "image": [
                f"The 3 images decode to {3 * SIDE * SIDE} pixels; the request budget is "
                f"{2 * SIDE * SIDE}."
            ]
        },
    }
    # Within the budget the same images are decoded, and the first blank one ends the request.
    r = post(client, [blank_webp] * 2)
    assert r.status_code == 422 and list(r.get_json()["details"]) == ["image.0"]


def test_header_errors_of_every_image_are_reported_together(client):
    bad = [b"junk", digit_canvas(64), blank("L", "PNG", 2 * SIDE), jpeg_repeating_scans(40, 8)]
    r = post(client, bad)
    details = r.get_json()["details"]
    assert r.status_code == 400 and sorted(details) == ["image.0", "image.2", "image.3"]
    assert "maximum is 1048576" in details["image.2"][0] and "50 scans" in details["image.3"][0]


def test_a_passed_deadline_is_a_503_with_retry_after(models):
    r = post(app_client(models, REQUEST_DEADLINE_SECONDS=1e-9), [digit_canvas(64)])
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert "deadline" in r.get_json()["details"]["image"][0]


def test_the_raw_image_body_has_the_same_limits(client):
    r = client.post("/predict", data=rle_end_of_lines(SIDE, SIDE), content_type="image/bmp")
    assert r.status_code == 422 and "budget" in r.get_json()["details"]["image"][0]


@pytest.mark.parametrize(
    "key, value",
    [("MAX_REQUEST_PIXELS", 0), ("REQUEST_CPU_SECONDS", "soon"), ("REQUEST_DEADLINE_SECONDS", -1),
     ("REQUEST_CPU_SECONDS", float("nan"))],
)  # fmt: skip
def test_limits_are_checked_at_start_up(models, key, value):
    from service.config import ConfigError

    with pytest.raises(ConfigError, match=key):
        app_client(models, **{key: value})


# -- the issue's request against the real gunicorn ----------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_url(models, tmp_path_factory) -> Iterator[str]:
    """The real gunicorn (service/gunicorn.conf.py, 2 workers) with the shipped limits."""
    server = live.start(models, tmp_path_factory.mktemp("logs") / "gunicorn.log")
    yield server.url
    live.stop(server)


def test_the_issues_256_blank_webp_request_gets_json_from_gunicorn(gunicorn_url):
    """The request that used to hold a worker past its 30 s timeout (an HTML 500), twice at
    once: both answered 422 JSON from the headers, and the service keeps answering."""
    blob = blank("RGBA", "WEBP", 4096, lossless=True)
    files = [("image", (f"{i}.webp", blob, "image/webp")) for i in range(256)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: requests.post(gunicorn_url + "/predict", files=files, timeout=25),
                     range(2))
        )  # fmt: skip
    for r in answers:
        assert r.status_code == 422 and r.headers["Content-Type"] == "application/json"
        assert "budget" in r.json()["details"]["image"][0]
    assert requests.get(gunicorn_url + "/health", timeout=5).json() == {"status": "ok"}
