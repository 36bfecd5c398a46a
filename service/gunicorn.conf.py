# ruff: noqa: N999 (gunicorn's conventional file name)
"""gunicorn settings for ``gunicorn -c service/gunicorn.conf.py 'service:create_app()'``.

Environment: ``HOST``/``PORT`` (bind, default 0.0.0.0:8000), ``WEB_CONCURRENCY`` (workers,
default 2), ``GUNICORN_TIMEOUT`` (default 30 s), ``ACCESS_LOG`` (``-`` = stdout, default; ``off``
disables it), ``MLPSERVE_LOG_LEVEL``.
"""

import glob
import os
import tempfile

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

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# Load the app (and the models) once in the master, then fork: workers start at once and share
# the weights' pages; with one BLAS thread there is no thread pool to break across fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 2
loglevel = os.environ.get("MLPSERVE_LOG_LEVEL", "info").lower()
errorlog = "-"
_access = os.environ.get("ACCESS_LOG", "-")
accesslog = None if _access.lower() in ("", "off", "0", "none") else _access
# One short line per request: time, client, request line, status, bytes, latency in microseconds
# and the request id, written by a logger that formats only that (service/access_log.py; gunicorn's
# default one builds a dict of every header and environ variable per request).
logger_class = "service.access_log.AccessLogger"


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
