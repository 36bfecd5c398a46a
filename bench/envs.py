"""Peer virtualenvs under bench/.peers/ (git-ignored) and the `wrk` load generator.

The bench installs what it compares against, so `make bench` works on a fresh clone. Each venv is
pinned and stamped with its spec; a venv whose stamp matches is reused. An install that fails is
reported (the caller records the reason and skips that peer) rather than stopping the whole run.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from bench.proc import REPO

PEERS = REPO / "bench" / ".peers"
SPECS = {
    # torch 2.13.0 is the CPU build on this machine's disk; never another version.
    "torch": ["torch==2.13.0", "numpy==2.4.6"],
    "kserve": ["kserve==0.21.0", "numpy==2.4.6", "orjson==3.13.0"],
    # uvloop 0.23 kills every parallel MLServer worker at start (shared/notes/peers-here.md).
    "mlserver": ["mlserver==1.7.1", "uvloop==0.21.0", "numpy==2.4.6"],
    # The sampling profiler that shows where a gunicorn worker spends its time under load.
    "tools": ["py-spy==0.4.3"],
}


def venv_python(name: str, timeout: float = 900) -> Path:
    """Python of the peer venv `name`, creating and installing it first if needed."""
    venv = PEERS / name
    python = venv / "bin" / "python"
    stamp = venv / ".bench-spec"
    spec = " ".join(SPECS[name])
    if python.exists() and stamp.exists() and stamp.read_text() == spec:
        return python
    print(f"[bench] installing peer venv {name}: pip install {spec}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *SPECS[name]],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-4:])
        raise RuntimeError(f"pip install {spec} failed: {tail}")
    stamp.write_text(spec)
    return python


def wrk_binary() -> str:
    """Path of `wrk`, installed from Debian's package (after `apt-get update`) if missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("[bench] installing wrk: apt-get update && apt-get install -y wrk", flush=True)
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()[-300:]}")
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk not on PATH after apt-get install wrk")
    return found
