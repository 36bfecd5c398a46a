"""Prometheus ``/metrics`` on a live 2-worker gunicorn: the counters of every worker add up."""

from __future__ import annotations

import re
import time

import pytest
import requests

import live

IMG = [[255 if 10 <= c < 14 else 0 for c in range(28)] for _ in range(28)]


def samples(text: str, name: str) -> dict[str, float]:
    """{label string: value} of the samples of ``name`` in an exposition text."""
    out = {}
    for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


@pytest.fixture
def server(tmp_path, make_tiny_models):
    s = live.start(make_tiny_models(tmp_path / "models"), tmp_path / "gunicorn.log", 2)
    yield s
    live.stop(s)


def test_counters_add_up_across_workers(server):
    n = 40
    workers = set()
    for _ in range(n):  # a new connection each: the requests spread over both workers
        r = server.post(json={"images": [IMG, IMG]})
        assert r.status_code == 200
        workers.add(r.headers["X-Request-ID"].split("-")[0])
    assert server.get("/models/nope").status_code == 404
    assert len(workers) == 2
    # Each worker writes its sums once a second (service/metrics_batch.py): poll, bounded.
    deadline = time.monotonic() + 10
    while True:
        text = server.get("/metrics").text
        requests_total = samples(text, "mlpserve_requests_total")
        predict = [v for k, v in requests_total.items() if 'route="/predict"' in k]
        in_flight = samples(text, "mlpserve_requests_in_flight")  # the scrape itself, when idle
        if (sum(predict) == n and in_flight == {"": 1}) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sum(predict) == n and in_flight == {"": 1}
    assert any('model_name="mnist"' in k and 'status="200"' in k for k in requests_total)
    assert (
        requests_total['{model_name="",model_version="",route="/models/<name>",status="404"}'] == 1
    )
    assert sum(samples(text, "mlpserve_predictions_total").values()) == 2 * n
    stages = samples(text, "mlpserve_request_stage_seconds_count")
    assert stages == {
        f'{{model_name="mnist",stage="{s}"}}': n for s in ("decode", "infer", "encode")
    }
    info = samples(text, "mlpserve_model_version_info")
    assert info['{model_name="mnist",model_version="20261123T200000Z"}'] == 1
    metric_names = {m.group(1) for m in re.finditer(r"^# HELP (\S+)", text, re.M)}
    assert not {n for n in metric_names if n.endswith("_created")}


def test_metrics_can_be_turned_off(tmp_path, make_tiny_models):
    s = live.start(make_tiny_models(tmp_path / "m"), tmp_path / "g.log", 1, 200,
                   {"MLPSERVE_METRICS": "0"})  # fmt: skip
    try:
        r = requests.get(s.url + "/metrics", timeout=10)
        assert r.status_code == 404 and "metrics are off" in r.json()["error"]
    finally:
        live.stop(s)


def test_observe_many_buckets_as_observe_does():
    from prometheus_client import CollectorRegistry, Histogram

    from service.metrics_batch import observe_many

    values = [0.0, 0.001, 0.0010001, 0.0025, 0.3, 2.5, 7.0]  # bounds land in their own bucket
    one, many = (
        Histogram(f"t_{k}", "t", buckets=(0.001, 0.0025, 2.5), registry=CollectorRegistry())
        for k in ("one", "many")
    )
    for v in values:
        one.observe(v)
    observe_many(many, values)
    assert [b.get() for b in many._buckets] == [b.get() for b in one._buckets] == [2, 2, 2, 1]
    assert many._sum.get() == pytest.approx(one._sum.get())
