"""Paired A/B runs of our own variants: the targets that compare ours with ours (issues 8, 9).

A section of its own (``python -m bench --sections pairs``). The main HTTP passes start every
server once per pass and take medians. Two starts of the same build differ by up to ±10 % in
req/s on this machine (2026-11-29: `ours` 2,838 / 3,393 / 2,897 req/s at 8 connections in three
passes), so a target 5 % wide between two of our own variants cannot be read from medians of
three starts. Here each comparison is made in pairs, so that what drifts between starts or over
the run cancels in each pair's ratio:

- **routes**: V2 binary against `/predict` JSON, one image, 8 connections. Both are routes of one
  server, so one start serves both and wrk alternates between them, `rounds` times (A B B A ...).
- **launches**: metrics on against `MLPSERVE_METRICS=0`, which needs two starts: alternated
  starts (A B B A ...), one 8-connection run each, paired in order.
- **builds**: ours against the sync-worker build of the commit before issue 8 and against bare
  Flask (issue 8's ≥ 0.95x and ≥ 0.85x targets), alternated starts as above, each start run
  kept alive and then with `Connection: close`; the front section's medians of three starts are
  their unpaired reading.
- **the forward pass's share**: ours against ours serving a stand-in of the same name shaped
  ``bench.models.LIGHT_SIZES``, whose forward pass costs next to nothing; kept alive.
  Bare Flask's answer is a constant, so this splits ours ÷ bare Flask into the model's cost and
  the request path's: (ours ÷ bare) ÷ (ours ÷ light) is the request path's alone.

Each pair gives a ratio by req/s and one by server CPU per request; the report shows their
medians and ranges, and the target is judged on the req/s median.
"""

import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.envs import wrk_binary
from bench.front.section import SYNC_COMMIT, sync_build
from bench.http import servers
from bench.http.run import free_port, load_point
from bench.http.section import payload_images, served_model
from bench.http.servers import Launch, Running, ServerSpec, serving_folder
from bench.http.wrk import run_wrk
from bench.models import LIGHT_SIZES, shape_text, write_stand_in
from bench.settings import Settings

CONNECTIONS = 8


def _order(rounds: int) -> list[tuple[int, int]]:
    """(pair, side) in A B B A A B ... order, so neither side always goes first."""
    return [(r, side if r % 2 == 0 else 1 - side) for r in range(rounds) for side in (0, 1)]


def _figures(point: dict) -> dict[str, float]:
    return {"rps": point["rps"], "cpu_ms": point["server_cpu_ms_per_request"]}


def ratios(pairs: list[list[dict[str, float]]]) -> dict[str, Any]:
    """Per-pair ratios A ÷ B (req/s; CPU as B's cost ÷ A's, so > 1 means A is cheaper) and
    their medians and ranges."""
    rps = [a["rps"] / b["rps"] for a, b in pairs]
    cpu = [b["cpu_ms"] / a["cpu_ms"] for a, b in pairs]
    return {
        "pairs": pairs,
        "rps_ratio": statistics.median(rps),
        "rps_range": [min(rps), max(rps)],
        "cpu_ratio": statistics.median(cpu),
        "cpu_range": [min(cpu), max(cpu)],
    }


def route_pairs(
    specs: tuple[ServerSpec, ServerSpec], bodies: tuple[Path, Path], launch: Launch, wrk: str,
    rounds: int, seconds: float,
) -> dict[str, Any]:  # fmt: skip
    """One start of ``specs[0]``'s server; wrk alternates between the two specs' routes."""
    running = Running(specs[0], launch, launch.workdir / "paired-routes.log", 90.0)
    try:
        for spec, body in zip(specs, bodies, strict=True):  # warm both routes
            url = running.base + spec.predict_path(launch)
            run_wrk(wrk, url, body, CONNECTIONS, 1.0, spec.headers(body.read_bytes()))
        pairs: list[list[dict[str, float]]] = [[{}, {}] for _ in range(rounds)]
        for r, side in _order(rounds):
            running.spec = replace(specs[0], **_route_of(specs[side]))
            point = load_point(running, wrk, bodies[side], CONNECTIONS, seconds)
            pairs[r][side] = _figures(point)
        return ratios(pairs)
    finally:
        running.stop()


def _route_of(spec: ServerSpec) -> dict[str, Any]:
    return {"predict_path": spec.predict_path, "headers": spec.headers}


def launch_pairs(
    specs: tuple[ServerSpec, ServerSpec], body: Path, launch: Launch, wrk: str,
    rounds: int, seconds: float, warmup: float, modes: tuple[str, ...] = ("keepalive",),
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Alternated starts of the two specs' servers; each start one 8-connection run of ``body``
    per mode of ``modes`` (``keepalive``, ``close``: `Connection: close` on every request).
    The ratios of each mode, by mode."""
    pairs = {mode: [[{}, {}] for _ in range(rounds)] for mode in modes}
    for r, side in _order(rounds):
        spec = specs[side]
        at = replace(launch, port=free_port())
        running = Running(spec, at, launch.workdir / f"paired-{spec.name}.log", 90.0)
        try:
            headers = spec.headers(body.read_bytes())
            run_wrk(wrk, running.predict_url, body, CONNECTIONS, warmup, headers)
            for mode in modes:
                point = load_point(running, wrk, body, CONNECTIONS, seconds, mode == "close")
                pairs[mode][r][side] = _figures(point)
        finally:
            running.stop()
    return {mode: ratios(p) for mode, p in pairs.items()}


def run_pairs_section(settings: Settings, work: Path) -> dict[str, Any]:
    """Both comparisons on the `mnist` model the HTTP section serves; each records its failure."""
    path, model_dir, _ = served_model(work)
    front = work / "front"  # where the front section extracts the sync build too
    work = work / "pairs"
    work.mkdir(parents=True, exist_ok=True)
    image = payload_images()[0][:1].tolist()
    ours, binary = servers.OURS, servers.OURS_V2_BINARY
    bodies = {spec.name: work / f"{spec.name}.body" for spec in (ours, binary)}
    for spec in (ours, binary):
        bodies[spec.name].write_bytes(spec.encode(image))
    launch = Launch(free_port(), path, model_dir, path.stem, work)
    rounds, seconds, wrk = settings.paired_rounds, settings.paired_seconds, wrk_binary()
    out: dict[str, Any] = {"rounds": rounds, "seconds": seconds}
    try:
        out["v2_binary_vs_predict"] = route_pairs(
            (binary, ours), (bodies[binary.name], bodies[ours.name]), launch, wrk, rounds, seconds
        )
    except Exception as exc:  # recorded; the other pair still runs
        out["v2_binary_vs_predict"] = {"error": f"{type(exc).__name__}: {exc}"}
    light = _light(work, path.stem)
    for key, other in (
        ("metrics_on_vs_off", servers.OURS_NO_METRICS),
        ("ours_vs_light_model", light),
    ):
        try:
            out[key] = launch_pairs(
                (ours, other), bodies[ours.name], launch, wrk, rounds, seconds, settings.http_warmup
            )["keepalive"]
        except Exception as exc:  # recorded; the next comparison still runs
            out[key] = {"error": f"{type(exc).__name__}: {exc}"}
    sync = servers.build_spec("sync", f"sync-worker build ({SYNC_COMMIT})", sync_build(front))
    for peer in (sync, servers.BARE):  # issue 8's two throughput floors, both connection modes
        try:
            pairs = launch_pairs(
                (ours, peer), bodies[ours.name], launch, wrk, rounds, seconds,
                settings.http_warmup, ("keepalive", "close"),
            )  # fmt: skip
        except Exception as exc:  # recorded; the next comparison still runs
            error = f"{type(exc).__name__}: {exc}"
            pairs = {mode: {"error": error} for mode in ("keepalive", "close")}
        out.update({f"ours_vs_{peer.name}_{mode}": pair for mode, pair in pairs.items()})
    return out


def _light(work: Path, name: str) -> ServerSpec:
    """Ours serving a random-weight ``LIGHT_SIZES`` stand-in named `name` (see the module doc)."""
    folder = work / "light"
    write_stand_in(folder / f"{name}.npz", name, LIGHT_SIZES, "relu")
    return serving_folder(folder, "ours-light", f"mlpserve (ours) serving a {shape_text()} model")
