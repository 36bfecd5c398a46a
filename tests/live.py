"""A real gunicorn (``service/gunicorn.conf.py``) on 127.0.0.1 for integration tests.

:func:`start` runs ``gunicorn -c service/gunicorn.conf.py 'service:create_app()'`` on a free port
and waits (30 s at most) until ``/ready`` answers the expected status; :func:`stop` ends it by its
pid. Every test file that needs a live server uses these two, so they all run the server the way
``make serve`` does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen
    log: Path

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kw)

    def post(self, path: str = "/predict", **kw) -> requests.Response:
        return requests.post(self.url + path, timeout=10, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    model_dir: Path,
    log: Path,
    workers: int = 2,
    ready_status: int = 200,
    env: dict[str, str] | None = None,
) -> Server:
    """Start gunicorn over ``model_dir`` with its output in ``log``; ``env`` adds variables."""
    port = free_port()
    full_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "MLPSERVE_MODEL_DIR": str(model_dir),
        "MLPSERVE_DRAIN_SECONDS": "0",  # stop at once; the drain has its own tests
        **(env or {}),
    }
    full_env.pop("OPENBLAS_NUM_THREADS", None)  # the gunicorn config must set it by itself
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "service/gunicorn.conf.py",
             "service:create_app()"],
            cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", port, proc, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{log.read_text()}")
        try:
            if server.get("/ready").status_code == ready_status:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    stop(server)
    pytest.fail(f"gunicorn did not answer /ready {ready_status} within 30 s:\n{log.read_text()}")


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
