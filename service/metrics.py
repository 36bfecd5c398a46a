"""Prometheus metrics, right across gunicorn workers (``prometheus_client`` multiprocess mode).

Under gunicorn every worker writes its samples to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` (set and emptied at start by ``service/gunicorn.conf.py``; a dead
worker's live gauges are dropped by its ``child_exit`` hook), and a scrape of ``/metrics`` --
answered by whichever worker gets it -- adds up every worker's files. Outside gunicorn (tests, a
single process) the samples live in the process.

Metrics (every one prefixed ``mlpserve_``; stages named after KServe's preprocess / predict /
postprocess histograms, labels after MLServer's ``model_name`` / ``model_version``):

- ``requests_total{route, model_name, model_version, status}``: every answered request; ``route``
  is the route's template (``/models/<name>``), never the raw path, so 404s cannot blow up the
  label set.
- ``request_duration_seconds{route}``: latency of the whole request, in the app.
- ``request_stage_seconds{stage, model_name}``: a prediction's ``decode`` (parse and check the
  body), ``infer`` (the forward pass) and ``encode`` (write the answer).
- ``requests_in_flight``: requests being answered now, all workers.
- ``request_bytes_total{route}`` / ``response_bytes_total{route}``: body bytes in and out.
- ``predictions_total{model_name, label}``: predicted labels per model, so a drift in what users
  send shows on a dashboard.
- ``model_version_info{model_name, model_version}`` (1 while that version serves) and
  ``model_refused{model_name}`` (1 while the model's current file is refused): read from the
  model registry of the worker that answers the scrape.

Recording cost, measured by ``make bench`` as JSON ``/predict`` throughput with
``MLPSERVE_METRICS=0`` against the default: see BENCHMARKS.md. Label children are cached, and
predictions are counted with one ``bincount`` per batch, not one increment per row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from .engine import Model
from .errors import NotFoundError
from .registry import Registry

bp = Blueprint("metrics", __name__)

disable_created_metrics()  # no *_created series: timestamps of first use, noise on a dashboard
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

REQUESTS = Counter(
    "mlpserve_requests", "Answered requests.", ["route", "model_name", "model_version", "status"]
)
DURATION = Histogram(
    "mlpserve_request_duration_seconds", "Request latency in the app.", ["route"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip
STAGES = Histogram(
    "mlpserve_request_stage_seconds", "Prediction latency by stage: decode, infer, encode.",
    ["stage", "model_name"], buckets=_LATENCY_BUCKETS,
)  # fmt: skip
IN_FLIGHT = Gauge(
    "mlpserve_requests_in_flight", "Requests being answered.", multiprocess_mode="livesum"
)
BYTES_IN = Counter("mlpserve_request_bytes", "Request body bytes.", ["route"])
BYTES_OUT = Counter("mlpserve_response_bytes", "Response body bytes.", ["route"])
PREDICTIONS = Counter("mlpserve_predictions", "Predicted labels.", ["model_name", "label"])


class NullMetrics:
    """What the app records with when ``MLPSERVE_METRICS=0``: nothing."""

    def inference(self, *args) -> None:
        pass

    def middleware(self, wsgi_app: Callable) -> Callable:
        return wsgi_app

    def scrape(self) -> tuple[bytes, str]:
        raise NotFoundError("metrics are off (MLPSERVE_METRICS=0)")


class Metrics(NullMetrics):
    """Records one app's requests and predictions; renders ``/metrics``."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self._children: dict[tuple, Any] = {}

    def _child(self, metric, *labels: str):
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # -- recording ------------------------------------------------------------------------------

    def inference(self, model: Model, out: np.ndarray, decode: float, infer: float, encode: float):
        """A prediction's stage times (seconds) and its labels. ``out`` is (n, outputs)."""
        name = model.info.name
        self._child(STAGES, "decode", name).observe(decode)
        self._child(STAGES, "infer", name).observe(infer)
        self._child(STAGES, "encode", name).observe(encode)
        labels = model.info.labels
        if labels is None:
            return
        if model.task == "multiclass":
            idx = out.argmax(axis=1)
        else:
            idx = (out[:, 0] >= 0.5).astype(np.intp)
        for k in np.flatnonzero(np.bincount(idx, minlength=len(labels))).tolist():
            self._child(PREDICTIONS, name, str(labels[k])).inc(int((idx == k).sum()))

    def middleware(self, wsgi_app: Callable) -> Callable:
        """WSGI middleware: count, time and size every request, and track those in flight.

        The route's template comes from ``environ["mlpserve.route"]`` (set by the hot-route
        table or Flask's routing), the model and version from ``mlpserve.model``/``.version``.
        """

        def app(environ, start_response):
            started = time.perf_counter()
            seen: list[str] = []

            def start(status, headers, exc_info=None):
                seen.append(status.split(" ", 1)[0])
                seen.append(next((v for k, v in headers if k == "Content-Length"), "0"))
                return start_response(status, headers, exc_info)

            IN_FLIGHT.inc()
            try:
                return wsgi_app(environ, start)
            finally:
                IN_FLIGHT.dec()
                self._request(environ, seen, time.perf_counter() - started)

        return app

    def _request(self, environ: dict, seen: list[str], seconds: float) -> None:
        route = environ.get("mlpserve.route", "(unmatched)")
        status, sent = [*seen, "500", "0"][:2]
        model = environ.get("mlpserve.model", "")
        version = environ.get("mlpserve.version", "")
        self._child(REQUESTS, route, model, version, status).inc()
        self._child(DURATION, route).observe(seconds)
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit():
            self._child(BYTES_IN, route).inc(int(length))
        if sent.isdigit():
            self._child(BYTES_OUT, route).inc(int(sent))

    # -- scraping -------------------------------------------------------------------------------

    def scrape(self) -> tuple[bytes, str]:
        """The exposition text of every worker's samples plus this worker's model state."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
        else:
            merged = REGISTRY
        models = CollectorRegistry()
        models.register(_ModelState(self.registry))
        return generate_latest(merged) + generate_latest(models), CONTENT_TYPE_LATEST


class _ModelState:
    """Served versions and refused files, from the model registry at scrape time."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def collect(self):
        snap = self.registry.snapshot
        info = GaugeMetricFamily(
            "mlpserve_model_version_info", "The model version serving (1).",
            labels=["model_name", "model_version"],
        )  # fmt: skip
        for name, model in snap.models.items():
            info.add_metric([name, model.info.version], 1)
        refused = GaugeMetricFamily(
            "mlpserve_model_refused",
            "1 while the model's current file is refused (failed load or refused replacement).",
            labels=["model_name"],
        )
        for name in sorted({*snap.failures, *snap.refused, *snap.models}):
            refused.add_metric([name], int(name in snap.failures or name in snap.refused))
        yield info
        yield refused


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = current_app.extensions["mlpserve.metrics"].scrape()
    return Response(body, 200, content_type=content_type)
