"""KServe's Python client in its own virtualenv, ``.cache/kserve-client`` (git-ignored).

``kserve==0.21.0`` brings about 70 packages (451 MB: grpcio, pandas, kubernetes, fastapi,
prometheus-client, ...) with pins of its own; in the dev venv they would constrain ours (numpy,
pillow, the metrics client) for the sake of one test. So the test tooling makes this venv on first
use (about 2 minutes with a warm pip cache; seconds after, checked by a stamp of the spec) and
drives the client from a subprocess (``tests/kserve_client.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

VENV = Path(__file__).resolve().parent.parent / ".cache" / "kserve-client"
SPEC = ["kserve==0.21.0", "numpy==2.4.6"]


def python() -> Path:
    """The venv's Python, after creating and installing the venv if its stamp is not ``SPEC``."""
    py, stamp = VENV / "bin" / "python", VENV / ".spec"
    if py.exists() and stamp.exists() and stamp.read_text() == " ".join(SPEC):
        return py
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=120)
    done = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", *SPEC], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        pytest.fail(f"pip install {' '.join(SPEC)} failed:\n{done.stderr[-2000:]}")
    stamp.write_text(" ".join(SPEC))
    return py
