"""Medians of the raw results: one figure per (implementation or server, measurement).

Every figure is the median over the alternated passes; errors of any pass are kept beside it.
"""

import statistics
from typing import Any


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _errors(runs: list[dict]) -> list[str]:
    return [r["error"] for r in runs if "error" in r]


def training(section: dict) -> dict[str, Any]:
    """Per thread count and implementation: median epoch seconds, passes, GFLOP/s of the epoch's
    matrix products."""
    out: dict[str, Any] = {}
    for threads, per in section.get("runs", {}).items():
        flops = next(
            (r["epoch_flops"] for rs in per.values() for r in rs if "epoch_flops" in r), None
        )
        out[threads] = {}
        for impl, runs in per.items():
            ok = [r for r in runs if "error" not in r]
            seconds = _median([r["epoch_seconds"] for r in ok])
            out[threads][impl] = {
                "epoch_seconds": seconds,
                "gflops": flops / seconds / 1e9 if flops and seconds else None,
                "passes": len(ok),
                "extrapolated": any(r.get("extrapolated") for r in ok),
                "errors": _errors(runs),
            }
    return out


def headline_threads(training: dict[str, Any]) -> str | None:
    """The thread count the targets are judged at: 2 (the anchors' setting) when measured."""
    return "2" if "2" in training else next(iter(training), None)


def engine(section: dict) -> dict[str, Any]:
    """Per model and implementation (ours, numpy, gemm, torch): median batch-1 and -1024 seconds."""
    out: dict[str, Any] = {}
    for model, rec in section.get("models", {}).items():
        per: dict[str, Any] = {}
        flat: dict[str, list[dict]] = {"ours": [], "numpy": [], "gemm": [], "torch": []}
        errors: dict[str, list[str]] = {}
        for run in rec["runs"].get("ours", []):
            if "error" in run:
                errors.setdefault("ours", []).append(run["error"])
                continue
            for impl in ("ours", "numpy", "gemm"):
                if impl in run:  # results from before gemm was measured lack it
                    flat[impl].append(run[impl])
        for run in rec["runs"].get("torch", []):
            if "error" in run:
                errors.setdefault("torch", []).append(run["error"])
            else:
                flat["torch"].append(run)
        for impl, runs in flat.items():
            per[impl] = {
                "batch1_seconds": _median([r["batch1_seconds"]["median"] for r in runs]),
                "batch1024_seconds": _median([r["batch1024_seconds"]["median"] for r in runs]),
                "passes": len(runs),
                "errors": errors.get(impl, []),
            }
        out[model] = per
    return out


def point_key(payload: str, connections: int) -> str:
    """Key of one load point, e.g. `single@8`."""
    return f"{payload}@{connections}"


def http(section: dict, cores: int) -> dict[str, Any]:
    """Per server: medians per load point (req/s, latency percentiles, CPU) and per server."""
    out: dict[str, Any] = {}
    for name, rec in section.get("servers", {}).items():
        passes = [p for p in rec["passes"] if "error" not in p]
        points: dict[str, Any] = {}
        for payload, conns in section.get("points", []):
            key = point_key(payload, conns)
            runs = [
                pt
                for p in passes
                for pt in p["points"]
                if pt["payload"] == payload and pt["connections"] == conns
            ]
            if not runs:
                continue
            duration = [r["duration_us"] / 1e6 for r in runs]
            points[key] = {
                "rps": _median([r["rps"] for r in runs]),
                "p50_ms": _median([r["p50_us"] / 1e3 for r in runs]),
                "p90_ms": _median([r["p90_us"] / 1e3 for r in runs]),
                "p99_ms": _median([r["p99_us"] / 1e3 for r in runs]),
                "errors": sum(r[k] for r in runs for k in r if k.startswith("errors_")),
                "non2xx": sum(r["errors_status"] for r in runs),
                "socket_errors": sum(
                    r[k]
                    for r in runs
                    for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout")
                ),
                "server_cpu_ms_per_request": _median(
                    [r["server_cpu_ms_per_request"] for r in runs]
                ),
                "client_machine_share": _median(
                    [
                        r["client_cpu_seconds"] / (d * cores)
                        for r, d in zip(runs, duration, strict=True)
                    ]
                ),
                "passes": len(runs),
            }
        workers = [m for p in passes for m in p["memory"] if m.get("worker")]
        others = [m for p in passes for m in p["memory"] if not m.get("worker")]
        out[name] = {
            "title": rec["title"],
            "points": points,
            "ready_seconds": _median([p["ready_seconds"] for p in passes]),
            "worker_rss_mib": _median([m["rss"] for m in workers if "rss" in m]),
            "worker_pss_mib": _median([m["pss"] for m in workers if "pss" in m]),
            "workers": _median([sum(1 for m in p["memory"] if m.get("worker")) for p in passes]),
            "other_processes_rss_mib": _median(
                [sum(m.get("rss", 0) for m in p["memory"] if not m.get("worker")) for p in passes]
            )
            if others
            else 0.0,
            "checks_ok": bool(passes) and all(c["ok"] for p in passes for c in p["check"].values()),
            "labels_checked": any(
                c["labels"] is not None for p in passes for c in p["check"].values()
            ),
            "checks": [p["check"] for p in passes],
            "passes": len(passes),
            "errors": _errors(rec["passes"]),
        }
    return out
