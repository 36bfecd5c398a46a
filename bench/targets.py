"""The targets of issue 4 (two of issue 3's, and issue 9's V2 and metrics ones), checked
against one run."""

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, what was measured, and whether it is met (None: not measured)."""

    target: str
    measured: str
    met: bool | None


def _threads(threads: str | None) -> str:
    return f"{threads} BLAS thread{'' if threads == '1' else 's'}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def times(v: float) -> str:
    """A ratio as text, truncated (not rounded) to 2 decimals: 2.495 shows as 2.49x, so a shown
    ratio is at least a 2-decimal target exactly when the measured one is."""
    return f"{math.floor(v * 100) / 100:.2f}x"


def _check(target: str, value: float | None, ok, text) -> Verdict:
    if value is None:
        return Verdict(target, "not measured", None)
    return Verdict(target, text(value), bool(ok(value)))


def paired_check(
    target: str, pair: dict[str, Any] | None, bound: float, unpaired: float | None, text=times
) -> Verdict:
    """A target between two of our own variants, judged on the median of the paired req/s
    ratios (:mod:`bench.http.paired`); ``unpaired``, the ratio of medians of separate starts
    (shown by ``text``), is shown beside it, or judged on when the pairs were not measured."""
    if not pair or "error" in pair:
        return _check(target, unpaired, lambda v: v >= bound, text)
    low, high = pair["rps_range"]
    measured = (
        f"{times(pair['rps_ratio'])} by req/s, median of {len(pair['pairs'])} pairs "
        f"({times(low)}-{times(high)}); {times(pair['cpu_ratio'])} by server CPU per request"
    )
    if unpaired is not None:
        measured += f"; medians of separate starts: {text(unpaired)}"
    return Verdict(target, measured, pair["rps_ratio"] >= bound)


def best_mlserver(http: dict[str, Any], key: str) -> tuple[str | None, float | None]:
    """The MLServer configuration with the highest req/s at `key`, and that req/s."""
    best = (None, None)
    for name, rec in http.items():
        rps = rec["points"].get(key, {}).get("rps")
        if name.startswith("mlserver") and rps and (best[1] is None or rps > best[1]):
            best = (name, rps)
    return best


def verdicts(
    training: dict, engine: dict, http: dict, threads: str | None, pairs: dict | None = None
) -> list[Verdict]:
    """Every target, in the issue's order; `training` holds the figures at `threads` threads,
    `pairs` the A/B pairs of our own variants (:mod:`bench.http.paired`), when measured."""
    ours_t = training.get("ours", {}).get("epoch_seconds")
    torch_t = training.get("torch", {}).get("epoch_seconds")
    seed = engine.get("mnist-seed", {})
    e_ours = seed.get("ours", {})
    e_torch = seed.get("torch", {})
    ours = http.get("ours", {}).get("points", {})
    rps8 = ours.get("single@8", {}).get("rps")
    bare8 = http.get("bare", {}).get("points", {}).get("single@8", {}).get("rps")
    kserve8 = http.get("kserve", {}).get("points", {}).get("single@8", {}).get("rps")
    ml_name, ml8 = best_mlserver(http, "single@8")
    p32 = ours.get("single@32", {})
    v2 = http.get("ours-v2", {}).get("points", {}).get("single@8", {}).get("rps")
    no_metrics = http.get("ours-no-metrics", {}).get("points", {}).get("single@8", {}).get("rps")
    v2bin = http.get("ours-v2-binary", {}).get("points", {})
    kserve_v2 = http.get("kserve-v2", {}).get("points", {}).get("single@8", {}).get("rps")
    batch8 = ours.get("batch64@8", {}).get("rps")
    b1 = e_ours.get("batch1_seconds")
    rss = http.get("ours", {}).get("worker_rss_mib")
    paired = pairs if pairs and "error" not in pairs else {}
    return [
        _check(
            f"training epoch ≤ 0.8 s ({_threads(threads)})",
            ours_t,
            lambda v: v <= 0.8,
            lambda v: f"{v:.2f} s",
        ),
        _check(
            f"training epoch ≥ 1.8x faster than PyTorch ({_threads(threads)})",
            _ratio(torch_t, ours_t),
            lambda v: v >= 1.8,
            times,
        ),
        _check(
            "engine batch 1 (mnist-seed) ≤ 40 µs",
            b1,
            lambda v: v <= 40e-6,
            lambda v: f"{v * 1e6:.1f} µs",
        ),
        _check(
            "engine batch 1 ≥ 3x faster than PyTorch",
            _ratio(e_torch.get("batch1_seconds"), b1),
            lambda v: v >= 3,
            times,
        ),
        _check(
            "engine batch 1024 ≥ 1.0x PyTorch",
            _ratio(e_torch.get("batch1024_seconds"), e_ours.get("batch1024_seconds")),
            lambda v: v >= 1.0,
            times,
        ),
        _check(
            "HTTP 8 conns ≥ 0.80x bare Flask",
            _ratio(rps8, bare8),
            lambda v: v >= 0.8,
            lambda v: f"{times(v)} ({rps8:,.0f} vs {bare8:,.0f} req/s)",
        ),
        _check(
            "HTTP 8 conns ≥ 1.1x KServe",
            _ratio(rps8, kserve8),
            lambda v: v >= 1.1,
            lambda v: f"{times(v)} ({rps8:,.0f} vs {kserve8:,.0f} req/s)",
        ),
        _check(
            "HTTP 8 conns ≥ 2.5x MLServer (its best configuration)",
            _ratio(rps8, ml8),
            lambda v: v >= 2.5,
            lambda v: f"{times(v)} ({rps8:,.0f} vs {ml8:,.0f} req/s, {ml_name})",
        ),
        _check(
            "V2 JSON 1 image, 8 conns ≥ 2.5x MLServer's V2 (its best configuration)",
            _ratio(v2, ml8),
            lambda v: v >= 2.5,
            lambda v: f"{times(v)} ({v2:,.0f} vs {ml8:,.0f} req/s, {ml_name})",
        ),
        _check(
            "V2 JSON 1 image, 8 conns ≥ 1.3x KServe's V2",
            _ratio(v2, kserve_v2),
            lambda v: v >= 1.3,
            lambda v: f"{times(v)} ({v2:,.0f} vs {kserve_v2:,.0f} req/s)",
        ),
        paired_check(
            "V2 binary 1 image, 8 conns ≥ 1.0x our /predict JSON",
            paired.get("v2_binary_vs_predict"),
            1.0,
            _ratio(v2bin.get("single@8", {}).get("rps"), rps8),
        ),
        _check(
            "V2 binary batch 64, 8 conns ≥ 1.5x our /predict JSON batch 64 (images/s)",
            _ratio(v2bin.get("batch64@8", {}).get("rps"), batch8),
            lambda v: v >= 1.5,
            lambda v: f"{times(v)} ({64 * v * batch8:,.0f} vs {64 * batch8:,.0f} images/s)",
        ),
        paired_check(
            "/predict 8 conns with metrics ≥ 0.95x with MLPSERVE_METRICS=0",
            paired.get("metrics_on_vs_off"),
            0.95,
            _ratio(rps8, no_metrics),
        ),
        _check(
            "HTTP 1 conn p50 ≤ 0.7 ms",
            ours.get("single@1", {}).get("p50_ms"),
            lambda v: v <= 0.7,
            lambda v: f"{v:.2f} ms",
        ),
        _check(
            "HTTP 32 conns: 0 errors and p99 ≤ 25 ms",
            p32.get("p99_ms"),
            lambda v: v <= 25 and p32.get("errors") == 0,
            lambda v: f"p99 {v:.1f} ms, {p32.get('errors')} errors",
        ),
        _check(
            "service start to ready ≤ 1.5 s (issue 3)",
            http.get("ours", {}).get("ready_seconds"),
            lambda v: v <= 1.5,
            lambda v: f"{v:.2f} s",
        ),
        _check(
            "RSS per worker ≤ 80 MB (issue 3)",
            rss,
            lambda v: v * 1.048576 <= 80,
            lambda v: f"{v * 1.048576:.0f} MB",
        ),
    ]
