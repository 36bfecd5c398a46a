"""Description of the machine and software a run measured, stored with the raw results."""

import os
import platform
import subprocess
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
