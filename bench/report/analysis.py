"""The "What stands in the way of the missed targets" section of BENCHMARKS.md: for each target
this run missed, what its measurements say the gap is made of."""

from typing import Any

from bench.models import shape_text
from bench.targets import best_mlserver, verdicts


def lines(s: dict[str, Any], threads: str | None) -> list[str]:
    """For each missed target, what the measurements say stands in the way.

    `s` holds the run's summaries (`training` at `threads` BLAS threads, `engine`, `http`).
    """
    missed = [
        v.target
        for v in verdicts(s["training"], s["engine"], s["http"], threads, s["pairs"])
        if v.met is False
    ]

    def missing(prefix: str) -> bool:
        return any(t.startswith(prefix) for t in missed)

    seed = s["engine"].get("mnist-seed", {})
    out = [
        _training(s["training"], threads) if missing("training") else None,
        _engine_batch1(seed) if missing("engine batch 1 ") else None,
        _engine_batch1024(seed) if missing("engine batch 1024") else None,
    ]
    mlserver = best_mlserver(s["http"], "single@8")[0]
    for label, peer, target in (("KServe", "kserve", 1.1), ("MLServer", mlserver, 2.5)):
        if missing(f"HTTP 8 conns ≥ {target}x {label}"):
            out.append(_http_cores(s["http"], peer, target))
    if missing("HTTP"):
        out.append("**HTTP.** See the CPU budget and the profile in the next section.")
    out.append(_bare_flask(s["pairs"]))
    paragraphs = [p for p in out if p] or ["Every target measured in this run is met."]
    return [line for text in paragraphs for line in (text, "")]


def _training(tr: dict[str, Any], threads: str | None) -> str | None:
    """The epoch against the GEMM ceiling and PyTorch; None when a figure is missing."""
    ours, gemm = tr.get("ours", {}).get("epoch_seconds"), tr.get("sgemm", {}).get("epoch_seconds")
    torch_t = tr.get("torch", {}).get("epoch_seconds")
    if not (ours and gemm):
        return None
    return (
        f"**Training.** The epoch's matrix products alone take {gemm:.2f} s on this BLAS "
        f"({threads} threads): ours, at {ours:.2f} s, spends {ours - gemm:.2f} s outside them "
        f"(activations and their derivatives, softmax and loss, shuffling, updates) and runs "
        f"at {100 * gemm / ours:.0f} % of the GEMM ceiling. ≤ 0.8 s leaves "
        f"{0.8 - gemm:.2f} s for all of that"
        + (
            f"; 1.8x PyTorch ({torch_t:.2f} s here) would need {torch_t / 1.8:.2f} s."
            if torch_t
            else "."
        )
        + " The cProfile table in the next section splits that time by function."
    )


def _engine_batch1(seed: dict[str, Any]) -> str | None:
    """Batch 1 of the mnist-seed shape against the 3x PyTorch target; None if one is missing."""
    b1 = seed.get("ours", {}).get("batch1_seconds")
    t1 = seed.get("torch", {}).get("batch1_seconds")
    if not (b1 and t1):
        return None
    g1 = seed.get("gemm", {}).get("batch1_seconds")
    floor = f" (the four matrix-vector products alone: {g1 * 1e6:.1f} µs)" if g1 else ""
    return (
        f"**Engine, batch 1.** PyTorch measured {t1 * 1e6:.0f} µs per call in this run, so "
        f"3x needs ours at {t1 / 3 * 1e6:.1f} µs; ours is {b1 * 1e6:.1f} µs{floor}. At batch "
        "1 the first layer's weights (784x256 float32, 0.8 MB) dominate the products; the "
        "rest is a fixed cost per NumPy call, a few µs per layer, which ours already cuts to "
        "one product (bias appended) and one activation call per layer. Reading only the "
        "rows of non-zero pixels was measured and dropped: its gain did not show at the "
        "HTTP level (service/engine.py)."
    )


def _engine_batch1024(seed: dict[str, Any]) -> str | None:
    """Batch 1024: the matrix products' share and what is left; None when a figure is missing."""
    k, tk, gk = (seed.get(impl, {}).get("batch1024_seconds") for impl in ("ours", "torch", "gemm"))
    if not (k and tk and gk):
        return None
    return (
        f"**Engine, batch 1024.** Ours takes {k * 1e3:.2f} ms, PyTorch {tk * 1e3:.2f} ms. "
        f"The four matrix products alone take {gk * 1e3:.2f} ms on this BLAS "
        f"({100 * gk / k:.0f} % of ours); the rest, {(k - gk) * 1e3:.2f} ms, is the hidden "
        "activations, the bias additions and the softmax. "
        + (
            f"Matching PyTorch would need that rest under {(tk - gk) * 1e3:.2f} ms."
            if tk > gk
            else "PyTorch's whole pass is faster than our matrix products alone: its matrix "
            "kernels beat OpenBLAS's on these shapes, and no work outside the products that "
            "ours could drop would close the gap."
        )
    )


def _http_cores(http: dict[str, Any], peer: str, target: float) -> str:
    """Why a req/s ratio to a peer at 8 connections fell short: cores used and CPU per request."""
    ours, other = (http[name]["points"]["single@8"] for name in ("ours", peer))
    cores = ours["rps"] * ours["server_cpu_ms_per_request"] / 1e3
    peer_cores = other["rps"] * other["server_cpu_ms_per_request"] / 1e3
    needed_us = cores / (target * other["rps"]) * 1e6
    return (
        f"**HTTP against {http[peer]['title']}.** Ours served {ours['rps']:,.0f} req/s with "
        f"{cores:.2f} cores busy ({ours['server_cpu_ms_per_request'] * 1e3:.0f} µs of CPU per "
        f"request; wrk took {ours['client_machine_share']:.0%} of the machine), the peer "
        f"{other['rps']:,.0f} req/s with {peer_cores:.2f} cores "
        f"({other['server_cpu_ms_per_request'] * 1e3:.0f} µs per request, "
        f"{http[peer]['workers']} process(es)): a ratio of {ours['rps'] / other['rps']:.3f}x, "
        f"of which {other['server_cpu_ms_per_request'] / ours['server_cpu_ms_per_request']:.2f}x "
        f"is CPU per request and the rest the cores each could use. {target}x with the cores "
        f"ours had would need ours at {needed_us:.0f} µs of CPU per request."
    )


def _bare_flask(pairs: dict[str, Any], floor: float = 0.85) -> str | None:
    """Ours ÷ bare Flask kept alive (issue 8), when under ``floor``, split by the pairs into the
    forward pass's share and the request path's; None when met or not measured."""
    bare = pairs.get("ours_vs_bare_keepalive", {}).get("rps_ratio")
    light = pairs.get("ours_vs_light_model", {}).get("rps_ratio")
    if not (bare and light) or bare >= floor:
        return None
    path = bare / light
    return (
        f"**Front, kept alive against bare Flask ({bare:.2f}x by the pairs; target "
        f"{floor}x).** Bare Flask answers a constant without reading the body. Ours against "
        f"ours serving a {shape_text()} model is {light:.2f}x: the served model's forward pass "
        f"costs {1 - light:.0%} of ours' throughput. What is left, {bare:.2f} ÷ {light:.2f} = "
        f"{path:.2f}x of bare Flask, is the request path: reading and converting the JSON "
        f"body's 784 numbers, the answer and the metrics, none of which bare Flask does. "
        + (
            f"{floor}x with this request path needs a forward pass costing at most "
            f"{1 - floor / path:.0%} of the throughput, a model with fewer weights than the "
            'one served (README, "Connection model and drain").'
            if path > floor
            else f"The request path alone is under {floor}x."
        )
    )
