"""Hot reload against a real 2-worker gunicorn: swap under load, refused swap, removal, SIGHUP.

Each worker rescans the model folder by itself (``service/registry.py``); the worker that
answered is read from the ``X-Request-ID`` it generated (``PID-COUNTER`` in hex). Every wait is
bounded (10 s) and every load loop is bounded in count.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

import live

IMG = [[255 if 10 <= c < 14 else 0 for c in range(28)] for _ in range(28)]
OLD, NEW = "20261123T200000Z", "20270101T000000Z"


def predict(server: live.Server) -> tuple[int, str, str]:
    """One fresh connection, one JSON image: (status, model_version or '', worker pid)."""
    r = requests.post(server.url + "/predict", json={"images": [IMG]}, timeout=10)
    version = r.json().get("model_version", "") if r.status_code == 200 else ""
    return r.status_code, version, r.headers["X-Request-ID"].split("-")[0]


def wait_until(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def all_answers(server: live.Server, version: str, n: int = 30) -> bool:
    """The next ``n`` answers (spread over the workers) all come from ``version``."""
    return all(predict(server)[:2] == (200, version) for _ in range(n))


def replace(folder: Path, name: str, data: bytes) -> None:
    staged = folder / f".{name}.staged"
    staged.write_bytes(data)
    os.replace(staged, folder / name)  # atomic, as a deploy should do it


@pytest.fixture
def served(tmp_path, make_tiny_models, request) -> Iterator[tuple[Path, live.Server]]:
    """A 2-worker server over a copy of the tiny models: (its model folder, the server)."""
    folder = make_tiny_models(tmp_path / "models")
    server = live.start(folder, tmp_path / "gunicorn.log", 2, 200, getattr(request, "param", {}))
    yield folder, server
    live.stop(server)


def _new_version(contract_arrays) -> bytes:
    a = contract_arrays(
        "mnist", "multiclass", (784, 16, 10), input_kind="image", input_shape=(28, 28), seed=9
    )
    a["version"] = np.array(NEW)
    buf = io.BytesIO()
    np.savez(buf, **a)
    return buf.getvalue()


def test_a_swap_under_load_loses_nothing_and_mixes_nothing(served, contract_arrays):
    folder, server = served
    assert all_answers(server, OLD, 10)
    with ThreadPoolExecutor(4) as pool:
        before = [pool.submit(predict, server) for _ in range(200)]
        replace(folder, "mnist.npz", _new_version(contract_arrays))
        after = [pool.submit(predict, server) for _ in range(200)]
        answers = [f.result() for f in before + after]
    assert [s for s, _, _ in answers if s != 200] == []
    assert {v for _, v, _ in answers} <= {OLD, NEW}
    wait_until(lambda: all_answers(server, NEW), "every worker serves the new version")
    workers = {pid for _, _, pid in (predict(server) for _ in range(30))}
    assert len(workers) == 2


def test_a_refused_replacement_keeps_the_old_version_and_says_why(served):
    folder, server = served
    replace(folder, "mnist.npz", b"this is not a model")

    def refused_everywhere() -> bool:
        bodies = [server.get("/models").json() for _ in range(10)]
        return all("not an .npz archive" in b["refused"].get("mnist", "") for b in bodies)

    wait_until(refused_everywhere, "/models names the refused file on every worker")
    assert server.get("/ready").status_code == 200
    assert all_answers(server, OLD)
    assert f"new mnist.npz refused, version {OLD} keeps serving" in server.log.read_text()


def test_a_removed_file_stops_serving(served):
    folder, server = served
    (folder / "moons.npz").unlink()

    def gone_everywhere() -> bool:
        answers = [server.get("/models/moons") for _ in range(20)]
        workers = {r.headers["X-Request-ID"].split("-")[0] for r in answers}
        return all(r.status_code == 404 for r in answers) and len(workers) == 2

    wait_until(gone_everywhere, "moons is gone on both workers")
    r = server.post(json={"model": "moons", "features": [[0.5, 0.5]]})
    assert r.status_code == 404 and "unknown model 'moons'" in r.json()["error"]


@pytest.mark.parametrize("served", [{"MLPSERVE_RELOAD_INTERVAL": "0"}], indirect=True)
def test_sighup_forces_a_rescan(served, contract_arrays):
    folder, server = served
    wait_until(lambda: len({predict(server)[2] for _ in range(10)}) == 2, "both workers answer")
    replace(folder, "mnist.npz", _new_version(contract_arrays))
    assert all_answers(server, OLD, 10)  # a worker rescans when it starts, not by interval here
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: all_answers(server, NEW, 10), "the new workers serve the new version")
