"""Profile section: where one JSON `/predict` of ours spends its time, in-process and under load.

Two views, both about our service only: in-process stage timings (`bench.stages`, a child with
1 BLAS thread) and py-spy samples of a gunicorn worker serving wrk at 8 connections.
"""

import sys
from pathlib import Path
from typing import Any

from bench.envs import wrk_binary
from bench.http.pyspy import profile_ours
from bench.http.run import free_port
from bench.http.section import payload_images, served_model
from bench.http.servers import OURS, Launch
from bench.proc import run_json, single_thread_env
from bench.settings import Settings


def run_profile(settings: Settings, work: Path) -> dict[str, Any]:
    """Stage timings and the py-spy breakdown; each part records its own failure."""
    path, model_dir, _ = served_model(work)
    body = work / "profile" / "body-single.json"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_bytes(OURS.encode(payload_images()[0][:1].tolist()))
    out: dict[str, Any] = {}
    try:
        argv = [sys.executable, "-m", "bench.stages", "--model-dir", str(model_dir)]
        argv += ["--body", str(body), "--calls", str(settings.engine_calls1)]
        out["stages_us"] = run_json(argv, single_thread_env(1), timeout=300)
    except Exception as exc:  # recorded; the py-spy part still runs
        out["stages_us"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        launch = Launch(free_port(), path, model_dir, path.stem, body.parent)
        out["pyspy"] = profile_ours(launch, wrk_binary(), body, settings.profile_seconds)
    except Exception as exc:  # recorded
        out["pyspy"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
