"""Description of the machine and software a run measured, stored with the raw results."""

import os
import platform
import resource
import subprocess
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.envs import SPECS

PACKAGES = ("numpy", "flask", "gunicorn", "marshmallow", "orjson", "werkzeug")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _blas() -> list[dict[str, Any]]:
    """BLAS/OpenMP libraries NumPy loaded (threadpoolctl), e.g. OpenBLAS with its kernel."""
    import numpy  # noqa: F401  (loads the BLAS so threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def _wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not installed"


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory, load, OS, Python, BLAS and package versions, as of now."""
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "loadavg_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "blas": _blas(),
        "packages": {name: version(name) for name in PACKAGES},
        "peer_venvs": {name: " ".join(spec) for name, spec in SPECS.items()},
        "wrk": _wrk_version(),
    }


def cpu_snapshot() -> tuple[float, float, float]:
    """(machine-wide busy CPU seconds, this process's and its reaped children's, wall seconds)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    own = sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    return busy, own, time.monotonic()


def others_share(start: tuple[float, float, float]) -> float:
    """Share of the machine's cores used by processes that are not this run's, since `start`.

    The bench's own children (servers, wrk, timed children) count as its own once reaped, which
    every section does before it returns.
    """
    busy0, own0, t0 = start
    busy1, own1, t1 = cpu_snapshot()
    return max(0.0, ((busy1 - busy0) - (own1 - own0)) / ((t1 - t0) * (os.cpu_count() or 1)))
