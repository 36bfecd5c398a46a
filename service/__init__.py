"""mlpserve's HTTP service: ``create_app()`` builds the Flask app that serves ``models/*.npz``.

Run it with ``gunicorn -c service/gunicorn.conf.py 'service:create_app()'`` (``make serve``).
This package never imports ``training/``.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per worker process: gunicorn's workers are the parallelism, and more
# threads would oversubscribe the cores. Must happen before NumPy is first imported.
for _var in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")

import logging  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask  # noqa: E402

from . import config as _config  # noqa: E402
from . import page  # noqa: E402
from .api import (  # noqa: E402
    Service,
    bp,
    json_fast_path,
    register_error_handlers,
    with_request_id,
)
from .engine import Engine  # noqa: E402

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration layers, then every model loaded and self-tested once.

    Parameters
    ----------
    config : dict, optional
        Overrides applied last (tests), on top of the defaults and the ``MLPSERVE_*`` environment.
    """
    app = Flask(__name__)
    app.config.from_mapping(_config.DEFAULTS)
    app.config.from_prefixed_env("MLPSERVE")
    if config:
        app.config.update(config)
    _config.check(app.config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    app.json.sort_keys = False

    logger = logging.getLogger("mlpserve")
    logger.setLevel(app.config["LOG_LEVEL"])
    app.logger.setLevel(app.config["LOG_LEVEL"])

    engine = Engine.from_dir(app.config["MODEL_DIR"], app.config["REQUIRED_MODELS"])
    for name, model in engine.models.items():
        logger.info("loaded model %s version %s (%s)", name, model.version, model.task)
    for name, reason in engine.failures.items():
        logger.error("model %s not loaded: %s", name, reason)
    service = app.extensions["mlpserve"] = Service(engine, app.config)
    app.register_blueprint(bp)
    app.register_blueprint(page.bp)
    register_error_handlers(app)
    app.wsgi_app = with_request_id(json_fast_path(app.wsgi_app, service))
    return app
