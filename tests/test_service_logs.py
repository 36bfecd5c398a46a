"""Structured logs: with ``MLPSERVE_LOG_FORMAT=json`` every line a live gunicorn writes is one
JSON object, and a prediction's access line names its request id, route, model, version,
status, latency and bytes."""

from __future__ import annotations

import json
import time

import live

IMG = [[255 if 10 <= c < 14 else 0 for c in range(28)] for _ in range(28)]


def test_json_log_lines(tmp_path, make_tiny_models):
    folder = make_tiny_models(tmp_path / "models")
    (folder / "broken.npz").write_bytes(b"not a model")
    server = live.start(folder, tmp_path / "gunicorn.log", 1, 503, {"MLPSERVE_LOG_FORMAT": "json"})
    try:
        r = server.post(json={"images": [IMG]}, headers={"X-Request-ID": "log-me"})
        assert r.status_code == 200
        deadline = time.monotonic() + 5
        while "log-me" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        live.stop(server)
    entries = [json.loads(line) for line in server.log.read_text().splitlines() if line]
    access = next(e for e in entries if e.get("request_id") == "log-me")
    assert access["route"] == "/predict" and access["method"] == "POST"
    assert access["status"] == 200 and access["model"] == "mnist"
    assert access["version"] == "20261123T200000Z"
    assert access["latency_ms"] > 0 and access["bytes_out"] > 0 and access["bytes_in"] > 0
    refusal = next(e for e in entries if "broken" in e.get("msg", ""))
    assert refusal["level"] == "error" and "not an .npz archive" in refusal["msg"]
    assert any(e.get("msg", "").startswith("Booting worker") for e in entries)  # gunicorn's own
