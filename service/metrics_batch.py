"""Per-request metric records, written to ``prometheus_client``'s values once a second.

In multiprocess mode every ``prometheus_client`` update takes a lock, checks the process id and
writes to a memory-mapped file: 3.7 µs a counter increment and 7.6 µs a histogram observation on
this machine, so the 17 updates of one prediction would cost about 70 µs. Here a request records
its answer (counted by key), its latency and a prediction's stage times (floats in arrays) and
outputs (kept arrays) under one uncontended lock, and a daemon thread (a greenlet under gevent
workers) hands them to ``write`` every ``interval`` seconds, at exit, and before this process
answers a scrape. ``write`` sums them -- the answers' counts, one ``searchsorted`` per histogram
(:func:`observe_many`), one ``argmax`` per model for the predicted labels -- and makes one client
update per label set. What Prometheus reads of another worker is at most one interval old.

Measured at the HTTP level (one-image JSON ``/predict``, 8 keep-alive connections, 10 alternated
3 s wrk rounds, medians of server CPU per request, the other core busy): with the updates summed
into dicts per request (label children, bucket bisection and an ``argmax`` per request), metrics
on cost 0.831 ms against 0.721 ms off (0.87x); with the records summed at the flush, 0.769 against
0.744 ms (0.97x), 1,263 against 1,348 req/s. Re-measure with ``python -m bench --sections
pairs`` (BENCHMARKS.md, "Pairs": metrics on against ``MLPSERVE_METRICS=0``).

Histograms are written through the client's per-bucket values (``_buckets``, ``_sum``: private
names of the pinned ``prometheus-client``), as its own ``observe`` does, once per bucket and
flush instead of once per observation.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


class Pending:
    """Records not yet written; :meth:`flush` hands them to ``write`` as ``(counts, numbers,
    items)``: how many times each key was counted, each key's floats (``array('d')``) and each
    key's kept objects.

    Counts and floats are kept without a Python object per request: an answer adds 1 to its
    key's count (a dict update, its key tuple freed at once), a time goes into an ``array('d')``.
    Before, each record was a tuple appended to a list, and the flush built a ``Counter`` and
    NumPy arrays from them. Measured with callgrind (instructions, deterministic, unlike times
    on this machine) in a one-worker gunicorn serving keep-alive one-image ``/predict`` calls,
    per call, 500 calls minus 100: 1,388,000 with tuples, 1,351,000 now, 1,317,000 with metrics
    off; recording went from 5.1 % to 2.5 % of the request.
    """

    def __init__(self, write: Callable[[dict, dict, dict], None], interval: float = 1.0):
        self.interval = interval
        self.in_flight = 0  # requests being answered by this process
        self.lock = threading.Lock()
        self._write = write
        self._forked()
        os.register_at_fork(after_in_child=self._forked)

    def record(
        self,
        count: Hashable | None = None,
        numbers: tuple[Hashable, tuple[float, ...]] | None = None,
        item: tuple[Hashable, Any] | None = None,
    ) -> None:
        """One event: add 1 to ``count``'s key, ``numbers`` = ``(key, floats)`` to the key's
        floats, ``item`` = ``(key, object)`` to the key's kept objects."""
        with self.lock:
            if count is not None:
                self._counts[count] += 1
            if numbers is not None:
                self._numbers[numbers[0]].extend(numbers[1])
            if item is not None:
                self._items[item[0]].append(item[1])

    def flush(self) -> None:
        """Hand every record kept so far to ``write``."""
        with self.lock:
            kept = self._counts, self._numbers, self._items
            self._counts, self._numbers, self._items = _empty()
        self._write(*kept)

    def start_flusher(self) -> None:
        """Start this process's flusher if it has none (a bool test: cheap on every request)."""
        if self._flushing:
            return
        self._flushing = True
        threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()
        atexit.register(self.flush)

    def _forked(self) -> None:
        # A forked worker inherits the master's records and flag, not its threads.
        self._counts, self._numbers, self._items = _empty()
        self._flushing = False

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # keep flushing (else the records would pile up); say why
                logging.getLogger("mlpserve").exception("writing the metrics failed")


def _empty() -> tuple[dict, dict, dict]:
    return defaultdict(int), defaultdict(lambda: array("d")), defaultdict(list)


def observe_many(child: Any, values: Any) -> None:
    """Put ``values`` in a histogram child's buckets as its ``observe`` would, one update per
    bucket (``searchsorted`` on the left is ``observe``'s ``bisect_left``)."""
    bounds = child._upper_bounds
    counts = np.bincount(np.searchsorted(bounds, values), minlength=len(bounds))
    for i in np.flatnonzero(counts).tolist():
        child._buckets[i].inc(int(counts[i]))
    child._sum.inc(float(np.sum(values)))
