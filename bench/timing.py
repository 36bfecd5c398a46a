"""Timing helpers shared by every child process (standard library only: any venv imports it)."""

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def per_call_seconds(fn: Callable[[], object], calls: int, repeats: int) -> list[float]:
    """Time `repeats` blocks of `calls` calls of `fn`; return each block's mean seconds per call.

    Blocks rather than single calls, so the clock's resolution and overhead don't dominate
    microsecond calls; several blocks, so the caller can take a median that shrugs off a noisy one.
    """
    fn()  # warm-up: first-call allocations and caches
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t0) / calls)
    return out


def summary(samples: list[float]) -> dict[str, Any]:
    """Median, min and max of a list of timings, with the raw samples for the JSON record."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": samples,
    }


def emit(result: dict[str, Any]) -> None:
    """Print a child's result as one JSON line on stdout, the only thing the parent parses."""
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
