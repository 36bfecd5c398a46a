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
- ``requests_in_flight``: requests being answered, all workers (each worker's count as of its
  last write, at most a second old).
- ``request_bytes_total{route}`` / ``response_bytes_total{route}``: body bytes in and out.
- ``predictions_total{model_name, label}``: predicted labels per model, so a drift in what users
  send shows on a dashboard.
- ``model_version_info{model_name, model_version}`` (1 while that version serves) and
  ``model_refused{model_name}`` (1 while the model's current file is refused): read from the
  model registry of the worker that answers the scrape.

Recording is cheap on the hot path: a request appends its records, which are summed per process
and written once a second (:mod:`service.metrics_batch`, which gives the figures); predictions are
counted with one ``argmax`` and ``bincount`` per model and flush, not per request or row.
"""

from __future__ import annotations

import os
import time
from array import array
from collections import defaultdict
from collections.abc import Callable

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
from .metrics_batch import Pending, observe_many
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


def _write(counts: dict[tuple, int], numbers: dict[tuple, array], items: dict[tuple, list]) -> None:
    """Sum one flush's records and make one client update per label set. Keys: ``counts``,
    ``(route, model, version, status, request bytes, response bytes)`` per answer; ``numbers``,
    ``(DURATION, route)``: seconds, ``(STAGES, model name)``: decode, infer and encode seconds
    in turn; ``items``, ``(PREDICTIONS, model)``: its outputs, (n, outputs) each."""
    totals: dict[tuple, int] = defaultdict(int)  # (counter, labels) -> amount to add
    _count_answers(counts, totals)
    for (metric, label), values in numbers.items():
        if metric is DURATION:
            observe_many(DURATION.labels(label), values)
        else:
            times = np.frombuffer(values).reshape(-1, 3)  # (n, 3)
            for j, stage in enumerate(("decode", "infer", "encode")):
                observe_many(STAGES.labels(stage, label), times[:, j])
    for (_, model), outs in items.items():  # the labels of a flush's outputs, one argmax a model
        for name, n in _label_counts(model, np.concatenate(outs)):
            totals[PREDICTIONS, (model.info.name, name)] += n
    for (metric, labels), amount in totals.items():
        metric.labels(*labels).inc(amount)
    IN_FLIGHT.set(PENDING.in_flight)


def _count_answers(answers: dict[tuple, int], totals: dict[tuple, int]) -> None:
    for (route, model, version, status, length, sent), n in answers.items():
        totals[REQUESTS, (route, model, version, status)] += n
        if length and length.isdigit():
            totals[BYTES_IN, (route,)] += n * int(length)
        if sent.isdigit():
            totals[BYTES_OUT, (route,)] += n * int(sent)


# The process's records not yet written, and its requests in flight (one per process, like the
# metrics above); written once a second.
PENDING = Pending(_write, 1.0)


class NullMetrics:
    """What the app records with when ``MLPSERVE_METRICS=0``: nothing."""

    def inference(self, *args) -> None:
        pass

    def middleware(self, wsgi_app: Callable) -> Callable:
        return wsgi_app

    def scrape(self) -> tuple[bytes, str]:
        raise NotFoundError("metrics are off (MLPSERVE_METRICS=0)")


class Metrics(NullMetrics):
    """Records one app's requests and predictions; renders ``/metrics``.

    Each request appends its records, written once a second (:mod:`service.metrics_batch`).
    """

    def __init__(self, registry: Registry):
        self.registry = registry
        self._pending = PENDING

    # -- recording ------------------------------------------------------------------------------

    def inference(self, model: Model, out: np.ndarray, decode: float, infer: float, encode: float):
        """A prediction's stage times (seconds) and its outputs ``out`` (n, outputs), kept until
        the flush counts their labels: the caller must not write to it afterwards."""
        self._pending.record(
            numbers=((STAGES, model.info.name), (decode, infer, encode)),
            item=((PREDICTIONS, model), out),
        )

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
                for k, v in headers:
                    if k == "Content-Length":
                        seen.append(v)
                        break
                else:
                    seen.append("0")
                return start_response(status, headers, exc_info)

            pending = self._pending
            pending.start_flusher()
            pending.in_flight += 1
            try:
                return wsgi_app(environ, start)
            finally:
                pending.in_flight -= 1
                self._request(environ, seen, time.perf_counter() - started)

        return app

    def _request(self, environ: dict, seen: list[str], seconds: float) -> None:
        route = environ.get("mlpserve.route", "(unmatched)")
        status, sent = [*seen, "500", "0"][:2]
        model = environ.get("mlpserve.model", "")
        version = environ.get("mlpserve.version", "")
        answer = (route, model, version, status, environ.get("CONTENT_LENGTH"), sent)
        self._pending.record(count=answer, numbers=((DURATION, route), (seconds,)))

    # -- scraping -------------------------------------------------------------------------------

    def scrape(self) -> tuple[bytes, str]:
        """The exposition text of every worker's samples plus this worker's model state."""
        self._pending.flush()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
        else:
            merged = REGISTRY
        models = CollectorRegistry()
        models.register(_ModelState(self.registry))
        return generate_latest(merged) + generate_latest(models), CONTENT_TYPE_LATEST


def _label_counts(model: Model, out: np.ndarray) -> list[tuple[str, int]]:
    """How many rows of ``out`` (n, outputs) predict each label (classifiers; else none)."""
    labels = model.info.labels
    if labels is None:
        return []
    idx = out.argmax(axis=1) if model.task == "multiclass" else (out[:, 0] >= 0.5).astype(int)
    counts = np.bincount(idx, minlength=len(labels))
    return [(str(labels[k]), int(counts[k])) for k in np.flatnonzero(counts).tolist()]


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
