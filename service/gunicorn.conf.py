# ruff: noqa: N999 (gunicorn's conventional file name)
"""gunicorn settings for ``gunicorn -c service/gunicorn.conf.py 'service:create_app()'``.

Environment: ``HOST``/``PORT`` (bind, default 0.0.0.0:8000), ``WEB_CONCURRENCY`` (workers,
default 2), ``GUNICORN_TIMEOUT`` (worker heartbeat timeout, default 30 s),
``GUNICORN_KEEPALIVE`` (idle seconds of a kept-alive connection, default 5),
``GUNICORN_WORKER_CONNECTIONS`` (open connections per worker, default 1000),
``GUNICORN_GRACEFUL_TIMEOUT`` (seconds for in-flight requests after a stop, default 10),
``MLPSERVE_READ_TIMEOUT`` (seconds for a request to arrive in full, default 15; else 408),
``MLPSERVE_DRAIN_SECONDS`` (serving time after SIGTERM with /ready at 503, default 5),
``ACCESS_LOG`` (``-`` = stdout, default; ``off`` disables it), ``MLPSERVE_LOG_LEVEL``.
See the README, "Connection model and drain".
"""

import glob
import os
import sys
import tempfile
from pathlib import Path

# One BLAS/OpenMP thread per worker, set before the app (and NumPy) is imported anywhere.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Prometheus multiprocess mode (service/metrics.py): every worker writes its samples to .db files
# in this folder (a fresh one under $TMPDIR unless PROMETHEUS_MULTIPROC_DIR names one), and a
# scrape adds them up. It must be set before prometheus_client is imported (by the app), and the
# last run's files removed once per server start -- not on a SIGHUP reload, which re-reads this
# file while the workers keep theirs.
if os.environ.get("MLPSERVE_METRICS_STARTED") != str(os.getpid()):
    _metrics_dir = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="mlpserve-metrics-")
    )
    os.makedirs(_metrics_dir, exist_ok=True)
    for _old in glob.glob(os.path.join(_metrics_dir, "*.db")):
        os.remove(_old)
    os.environ["MLPSERVE_METRICS_STARTED"] = str(os.getpid())

# The repository root, so that `service` imports however gunicorn was started (`make serve` runs
# .venv/bin/gunicorn, whose sys.path does not hold the working directory yet).
_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:  # this file is read again on every SIGHUP
    sys.path.insert(0, _root)

# Imported here, in the master, before any fork: the drain flag's shared memory is created now,
# and every worker inherits it. Bad values of the two settings fail here, at start-up.
from service import drain  # noqa: E402
from service.deadline import read_timeout  # noqa: E402

_drain_seconds = drain.drain_seconds()
read_timeout()

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gevent connections: a slow or idle client holds a greenlet, never a worker (service/worker.py).
worker_class = "service.worker.Worker"
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# Load the app (and the models) once in the master, then fork: workers start at once and share
# the weights' pages; with one BLAS thread there is no thread pool to break across fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
loglevel = os.environ.get("MLPSERVE_LOG_LEVEL", "info").lower()
errorlog = "-"
_access = os.environ.get("ACCESS_LOG", "-")
accesslog = None if _access.lower() in ("", "off", "0", "none") else _access
# One short line per request: time, client, request line, status, bytes, latency in microseconds
# and the request id, written by a logger that formats only that (service/access_log.py; gunicorn's
# default one builds a dict of every header and environ variable per request).
logger_class = "service.access_log.AccessLogger"
# No control socket: gunicorn 25.1+ otherwise creates $HOME/.gunicorn/gunicorn.ctl, and with an
# arbitrary uid, HOME=/ and a read-only root (how Kubernetes runs the image) that logs "Control
# server error: Permission denied"; nothing here talks to that socket (gunicornc).
control_socket_disable = True


def when_ready(server):
    """Put the drain in front of the master's SIGTERM handling (service/drain.py)."""
    drain.install(server, _drain_seconds)


def pre_fork(server, worker):
    """Move everything the master loaded (the app, the models) out of the garbage collector's
    reach before forking: the workers' collections then never touch those objects, so their
    pages stay shared with the master and a full collection scans only per-request garbage."""
    import gc

    gc.freeze()


def child_exit(server, worker):
    """A worker is gone: drop its live gauges (requests in flight) from the metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
