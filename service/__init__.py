"""mlpserve's HTTP service: ``create_app()`` builds the Flask app that serves ``models/*.npz``.

Run it with ``gunicorn -c service/gunicorn.conf.py 'service:create_app()'`` (``make serve``).
This package never imports ``training/``. Its layers, each importing only the ones below it
(``../shared/STYLE.md``, "Layers of the service")::

    v1 (and the other protocols)   HTTP and Flask live here and above
      -> dataplane   live, ready, model lookup, input checks, infer -> arrays
      -> registry    which models serve, reload by atomic swap, failures with reasons
      -> engine      one compiled model: forward pass on float32 arrays, self-test
      -> artifact    the .npz contract: read with limits, validate, model card
    wsgi            request id, capped body, hot-route table, the one error renderer
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

from typing import Any  # noqa: E402

from flask import Flask  # noqa: E402

from . import config as _config  # noqa: E402
from . import logs, metrics, page, v1, wsgi  # noqa: E402
from .artifact import Limits  # noqa: E402
from .dataplane import DataPlane  # noqa: E402
from .drain import draining  # noqa: E402
from .registry import Registry  # noqa: E402

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration layers, then every model loaded and self-tested once.

    Parameters
    ----------
    config : dict, optional
        Overrides applied last (tests), on top of the defaults and the ``MLPSERVE_*`` environment.
    """
    app = wsgi.App(__name__)
    app.config.from_mapping(_config.DEFAULTS)
    app.config.from_prefixed_env("MLPSERVE")
    if config:
        app.config.update(config)
    _config.check(app.config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    app.json.sort_keys = False

    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.logger.setLevel(app.config["LOG_LEVEL"])

    registry = Registry(
        app.config["MODEL_DIR"],
        app.config["REQUIRED_MODELS"],
        Limits(max_params=app.config["MAX_MODEL_PARAMS"]),
        app.config["RELOAD_INTERVAL"],
    )
    plane = DataPlane(registry, app.config, draining=draining)
    recorder = metrics.Metrics(registry) if app.config["METRICS"] else metrics.NullMetrics()
    app.extensions["mlpserve.metrics"] = recorder
    protocol = v1.V1(plane, recorder, app.config["MAX_REQUEST_BYTES"])
    app.extensions["mlpserve.v1"] = protocol
    app.register_blueprint(v1.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(page.bp)
    app.register_error_handler(Exception, wsgi.handle_error)
    app.before_request(wsgi.note_flask_route)
    routes = v1.hot_routes(protocol) if app.config["HOT_ROUTES"] else []
    edge = wsgi.hot_routes(app.wsgi_app, routes, app.config)
    app.wsgi_app = wsgi.with_request_id(recorder.middleware(edge))
    return app
