"""Configuration: defaults -> environment (``MLPSERVE_*``) -> the overrides given to the factory.

Environment values are parsed as JSON when they parse (``MLPSERVE_MAX_BATCH=64`` is an int) by
Flask's ``from_prefixed_env``, then checked and coerced here so that a typo fails at start-up with
a clear message instead of at the first request.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Directory holding NAME.npz (and NAME.json model cards).
    "MODEL_DIR": str(Path(__file__).resolve().parent.parent / "models"),
    # Items per /predict request (images, feature rows or uploaded files).
    "MAX_BATCH": 256,
    # Request body cap in bytes (413 above it): 256 nested 28x28 images are about 1 MB of JSON.
    "MAX_REQUEST_BYTES": 8 * 1024 * 1024,
    # Decoded-size cap of an uploaded image, checked from its header before decoding (422 above).
    "MAX_IMAGE_PIXELS": 4096 * 4096,
    # Pixels all the images of one upload request may decode, checked from their headers before
    # any is decoded (422 above): two images at the per-image cap. See service.budget.Limits.
    "MAX_REQUEST_PIXELS": 2 * 4096 * 4096,
    # CPU seconds one upload request may spend decoding (422 past it): about 1.5x the dearest
    # request within the pixel budget, and with the one step it may overrun, under 2 s. See
    # service.budget.Limits.
    "REQUEST_CPU_SECONDS": 1.25,
    # Wall-clock seconds an upload request may take while waiting for a busy machine (503 with
    # Retry-After past it), well inside gunicorn's 30 s worker timeout.
    "REQUEST_DEADLINE_SECONDS": 10.0,
    "LOG_LEVEL": "INFO",
    # Models whose file must be there for /ready to answer 200 (comma-separated names); every
    # file that is there must load in any case.
    "REQUIRED_MODELS": "",
    # The model used when a request names none, by input kind.
    "DEFAULT_IMAGE_MODEL": "mnist",
    "DEFAULT_FEATURES_MODEL": "regression",
    # Seconds between rescans of MODEL_DIR for added, replaced and removed files (0: never).
    "RELOAD_INTERVAL": 1.0,
    # Float and int values one model file may hold in all (64 MB of float32); larger is refused
    # before it is read.
    "MAX_MODEL_PARAMS": 16_000_000,
    # Answer JSON /predict ahead of Flask's routing (service/wsgi.py, hot_routes); 0 to compare.
    "HOT_ROUTES": True,
    # Record Prometheus metrics and serve /metrics (service/metrics.py); 0 to compare.
    "METRICS": True,
    # "text" (one line per record) or "json" (one JSON object per line).
    "LOG_FORMAT": "text",
}

_INTS = (
    "MAX_BATCH", "MAX_REQUEST_BYTES", "MAX_IMAGE_PIXELS", "MAX_REQUEST_PIXELS", "MAX_MODEL_PARAMS",
)  # fmt: skip
_SECONDS = ("REQUEST_CPU_SECONDS", "REQUEST_DEADLINE_SECONDS")
LOG_FORMATS = ("text", "json")
_STRS = ("MODEL_DIR", "DEFAULT_IMAGE_MODEL", "DEFAULT_FEATURES_MODEL")


class ConfigError(ValueError):
    """A configuration value is unusable; raised by the factory, at start-up."""


def check(config: dict[str, Any]) -> None:
    """Coerce and check the service's keys in place."""
    for key in _INTS:
        value = config[key]
        try:
            if isinstance(value, bool) or int(value) != float(value):
                raise ValueError
            value = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a positive integer, got {value!r}") from None
        if value < 1:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
        config[key] = value
    for key in _SECONDS:
        value = config[key]
        try:
            if isinstance(value, bool) or not 0 < float(value) < float("inf"):
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a positive number, got {value!r}") from None
        config[key] = float(value)
    for key in _STRS:
        config[key] = str(config[key])
    required = config["REQUIRED_MODELS"]
    if isinstance(required, str):
        required = [n.strip() for n in required.split(",")]
    if not isinstance(required, list | tuple):
        raise ConfigError(f"REQUIRED_MODELS must be comma-separated names, got {required!r}")
    config["REQUIRED_MODELS"] = tuple(str(n) for n in required if str(n))
    config["RELOAD_INTERVAL"] = _seconds(config["RELOAD_INTERVAL"], "RELOAD_INTERVAL")
    for key in ("HOT_ROUTES", "METRICS"):
        config[key] = _flag(config[key], key)
    config["LOG_FORMAT"] = str(config["LOG_FORMAT"]).lower()
    if config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    # werkzeug's cap on multipart parts: the images of a full batch and a few form fields.
    config["MAX_FORM_PARTS"] = config["MAX_BATCH"] + 8
    level = str(config["LOG_LEVEL"]).upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"LOG_LEVEL {config['LOG_LEVEL']!r} is not a logging level")
    config["LOG_LEVEL"] = level


def _seconds(value: Any, key: str) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number of seconds, got {value!r}") from None
    if not 0 <= seconds < 86400:
        raise ConfigError(f"{key} must be between 0 and 86400 seconds, got {value!r}")
    return seconds


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")
