"""Prometheus ``/metrics`` on a live 2-worker gunicorn: the counters of every worker add up."""

from __future__ import annotations

import re

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
    text = server.get("/metrics").text
    requests_total = samples(text, "mlpserve_requests_total")
    predict = [v for k, v in requests_total.items() if 'route="/predict"' in k]
    assert sum(predict) == n
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
    assert samples(text, "mlpserve_requests_in_flight") == {"": 1}  # the scrape itself


def test_metrics_can_be_turned_off(tmp_path, make_tiny_models):
    s = live.start(make_tiny_models(tmp_path / "m"), tmp_path / "g.log", 1, 200,
                   {"MLPSERVE_METRICS": "0"})  # fmt: skip
    try:
        r = requests.get(s.url + "/metrics", timeout=10)
        assert r.status_code == 404 and "metrics are off" in r.json()["error"]
    finally:
        live.stop(s)
