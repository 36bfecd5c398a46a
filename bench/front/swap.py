"""Hot swap of `mnist.npz` under 8-connection load (issue 8, hot reload with versions).

The served folder holds a copy of the model; its replacement is the same weights under a later
`version`, written beside it under a name the server ignores, then moved over it atomically by the
load child (`bench.front.faults swap`). Contract: every worker serves the new version within 2 s,
every answer names the version that computed it, no request fails.
"""

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench.http.run import free_port
from bench.http.servers import Launch, Running, ServerSpec
from bench.proc import run_json, single_thread_env

NEW_VERSION = "20991231T235959Z"


def _new_version(src: Path, dst: Path) -> None:
    """`src` with its `version` replaced: a valid model that only the version tells apart."""
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["version"] = np.str_(NEW_VERSION)
    with dst.open("wb") as out:
        np.savez(out, **arrays)


def run_swap(spec: ServerSpec, model: Path, work: Path, body: Path) -> dict[str, Any]:
    """Start ours over a one-model folder, swap the file under load; the child's figures."""
    folder = work / "swap-models"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    live = folder / "mnist.npz"
    shutil.copyfile(model, live)
    staged = folder / "mnist.npz.next"  # not NAME.npz: the registry does not see it
    _new_version(model, staged)
    launch = Launch(free_port(), live, folder, "mnist", work)
    running = Running(spec, launch, work / "front-swap.log", 90.0)
    try:
        args = ["--port", str(launch.port), "--master", str(running.proc.pid)]
        args += ["--body", str(body), "--live", str(live), "--new", str(staged)]
        argv = [sys.executable, "-m", "bench.front.faults", "swap", *args]
        return {"new_version": NEW_VERSION, **run_json(argv, single_thread_env(1), 120)}
    finally:
        running.stop()
