"""The drain protocol on SIGTERM: ``/ready`` answers 503 at once, serving goes on for
``MLPSERVE_DRAIN_SECONDS``, then gunicorn's graceful stop lets in-flight requests finish.

Why: a load balancer (or Kubernetes' endpoint removal) needs a few seconds to stop sending to a
pod after it starts terminating; a server that closes its listener at the first SIGTERM resets the
requests that arrive meanwhile. Here the master's SIGTERM only raises a flag; the real graceful
stop (gunicorn's own ``handle_term``) runs ``MLPSERVE_DRAIN_SECONDS`` later, or at once on a second
SIGTERM. SIGINT and SIGQUIT keep their immediate meaning.

The flag is one byte of anonymous shared memory created when this module is first imported. The
gunicorn config imports it in the master, before any worker is forked, so every worker reads the
same byte: :func:`draining` is a memory read, cheap enough for every request.
"""

from __future__ import annotations

import mmap
import os
import signal
import threading
from typing import Any

_FLAG = mmap.mmap(-1, 1)  # MAP_SHARED | MAP_ANONYMOUS: inherited by every forked worker

# Default drain: a load balancer that polls /ready every 1-2 s sees two failures in that time,
# and Kubernetes' endpoint removal reaches kube-proxy and ingresses in about a second or two;
# with gunicorn's graceful_timeout (10 s) a stop takes at most 15 s, half of Kubernetes'
# default terminationGracePeriodSeconds (30 s).
DEFAULT_DRAIN_SECONDS = 5.0


def draining() -> bool:
    """True once the master got SIGTERM: readiness fails, responses close their connections."""
    return _FLAG[0] == 1


def drain_seconds() -> float:
    """``MLPSERVE_DRAIN_SECONDS`` (default 5; 0 stops at once, as plain gunicorn does)."""
    raw = os.environ.get("MLPSERVE_DRAIN_SECONDS", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_DRAIN_SECONDS
    except ValueError:
        raise ValueError(f"MLPSERVE_DRAIN_SECONDS must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"MLPSERVE_DRAIN_SECONDS must be >= 0, got {raw!r}")
    return value


def install(arbiter: Any, seconds: float) -> None:
    """Wrap the gunicorn master's SIGTERM handler (``Arbiter.handle_term``) with the drain.

    Called from the ``when_ready`` hook. The first SIGTERM sets the flag and schedules a second
    one ``seconds`` later; the second (that one, or the operator's) runs gunicorn's handler, which
    closes the listeners and gives the workers ``graceful_timeout`` to finish their requests.
    """
    graceful_stop = arbiter.handle_term

    def handle_term() -> None:
        first = not draining()
        _FLAG[0] = 1
        if not first or seconds <= 0:
            graceful_stop()
            return
        arbiter.log.info("SIGTERM: draining for %.1f s (/ready answers 503)", seconds)
        timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    arbiter.handle_term = handle_term
