"""Metric updates summed per process, written to ``prometheus_client``'s values once a second.

In multiprocess mode every ``prometheus_client`` update takes a lock, checks the process id and
writes to a memory-mapped file: 3.7 µs a counter increment and 7.6 µs a histogram observation on
this machine, so the 17 updates of one prediction cost about 70 µs, a sixth of a one-image
``/predict``'s CPU. Here a request adds its updates to plain dicts under one uncontended lock
(about 0.5 µs each) and a daemon thread (a greenlet under gevent workers) writes the sums every
``interval`` seconds, at exit, and before this process answers a scrape. What Prometheus reads of
another worker is therefore at most one interval old. Re-measure with ``make bench``
(``/predict`` throughput with ``MLPSERVE_METRICS=0`` against the default; BENCHMARKS.md).

Histograms are written through the client's per-bucket values (``_buckets``, ``_sum``: private
names of the pinned ``prometheus-client``), as its own ``observe`` does, once per bucket and
flush instead of once per observation.
"""

from __future__ import annotations

import atexit
import bisect
import os
import threading
import time
from collections.abc import Callable
from typing import Any


class Pending:
    """Updates not yet written. Hold :attr:`lock` around a group of :meth:`add`/:meth:`observe`."""

    def __init__(self, interval: float = 1.0, on_flush: Callable[[], None] = lambda: None):
        self.interval = interval
        self.on_flush = on_flush  # e.g. set a gauge from the process's own state
        self.in_flight = 0  # requests being answered by this process
        self.lock = threading.Lock()
        self._counts: dict[Any, float] = {}  # counter or gauge child -> amount to add
        self._hists: dict[Any, list] = {}  # histogram child -> [per-bucket counts, sum]
        self._flusher_pid = 0

    def add(self, child: Any, amount: float = 1.0) -> None:
        self._counts[child] = self._counts.get(child, 0.0) + amount

    def observe(self, child: Any, value: float) -> None:
        acc = self._hists.get(child)
        if acc is None:
            acc = self._hists[child] = [[0] * len(child._upper_bounds), 0.0]
        acc[0][bisect.bisect_left(child._upper_bounds, value)] += 1
        acc[1] += value

    def flush(self) -> None:
        """Write every pending sum to the client's values (and run ``on_flush``)."""
        self.on_flush()
        with self.lock:
            counts, hists = self._counts, self._hists
            self._counts, self._hists = {}, {}
        for child, amount in counts.items():
            child.inc(amount)
        for child, (buckets, total) in hists.items():
            for i, n in enumerate(buckets):
                if n:
                    child._buckets[i].inc(n)
            child._sum.inc(total)

    def start_flusher(self) -> None:
        """Start this process's flusher if it has none (cheap to call on every request: a
        forked worker inherits the master's state but not its threads)."""
        pid = os.getpid()
        if self._flusher_pid == pid:
            return
        self._flusher_pid = pid
        threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()
