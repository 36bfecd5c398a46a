"""The README's benchmarks section: a link to BENCHMARKS.md and the headline ratios, written
between the section's markers (other sections of the README belong to other owners)."""

import textwrap
from typing import Any

from bench.proc import REPO
from bench.report.format import number, ratio
from bench.targets import best_mlserver, verdicts

README = REPO / "README.md"
MARKER = "<!-- SECTION:benchmarks (owned by bench) -->"
BEGIN = "<!-- SECTION:benchmarks (owned by bench): begin; written by `make bench` -->"
END = "<!-- SECTION:benchmarks: end -->"


def update(results: dict[str, Any], s: dict[str, Any], threads: str | None) -> None:
    """Write the headline section into the README in place of the marker or the last section.

    `results` is the raw run (its date), `s` its summaries (`training` at `threads` BLAS
    threads, `engine`, `http`). A README with neither marker is left alone.
    """
    text = README.read_text()
    block = "\n".join([BEGIN, *_headline(results, s, threads), END])
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    elif MARKER in text:
        text = text.replace(MARKER, block, 1)
    else:
        return
    README.write_text(text)


def _headline(results: dict[str, Any], s: dict[str, Any], threads: str | None) -> list[str]:
    """The section's lines: one paragraph and the headline bullets, wrapped at 100."""
    met = [v.met for v in verdicts(s["training"], s["engine"], s["http"], threads, s["pairs"])]
    paragraph = (
        f"`make bench` measures training, the engine and the HTTP service against PyTorch, the "
        f"reference implementation, bare Flask, KServe and MLServer on this 2-core machine "
        f"({results['machine']['date_utc'][:10]}: {met.count(True)} of {len(met)} targets met); "
        "method, every figure, the targets and charts are in [BENCHMARKS.md](BENCHMARKS.md). "
        "Headline ratios, each against a peer measured in the same run:"
    )
    bullets = [
        _training(s["training"], threads),
        _engine(s["engine"].get("mnist-seed", {})),
        _http(s["http"]),
    ]
    return [
        "## Benchmarks",
        "",
        textwrap.fill(paragraph, 100),
        "",
        *(textwrap.fill(b, 100, initial_indent="- ", subsequent_indent="  ") for b in bullets if b),
    ]


def _training(tr: dict[str, Any], threads: str | None) -> str | None:
    """One mnist-seed epoch against PyTorch and the reference; None if ours was not measured."""
    ours_t = tr.get("ours", {}).get("epoch_seconds")
    if not ours_t:
        return None
    return (
        f"training, one `mnist-seed` epoch ({threads} BLAS threads): {ours_t:.2f} s, "
        f"{ratio(tr.get('torch', {}).get('epoch_seconds'), ours_t)} faster than PyTorch CPU "
        f"and {ratio(tr.get('reference', {}).get('epoch_seconds'), ours_t)} faster than the "
        "reference implementation;"
    )


def _engine(seed: dict[str, Any]) -> str | None:
    """The mnist-seed shape at batch 1 and 1024 against PyTorch; None if ours was not measured."""
    b1 = seed.get("ours", {}).get("batch1_seconds")
    b1024 = seed.get("ours", {}).get("batch1024_seconds")
    if not b1:
        return None
    return (
        f"engine, batch 1 (mnist-seed shape): {b1 * 1e6:.0f} µs, "
        f"{ratio(seed.get('torch', {}).get('batch1_seconds'), b1)} faster than PyTorch; "
        f"batch 1024: {ratio(seed.get('torch', {}).get('batch1024_seconds'), b1024)};"
    )


def _http(ht: dict[str, Any]) -> str | None:
    """One image at 8 connections against bare Flask, KServe and the best MLServer setting."""
    ours8 = ht.get("ours", {}).get("points", {}).get("single@8", {}).get("rps")
    if not ours8:
        return None
    ml = best_mlserver(ht, "single@8")[1]
    bare = ht.get("bare", {}).get("points", {}).get("single@8", {}).get("rps")
    ks = ht.get("kserve", {}).get("points", {}).get("single@8", {}).get("rps")
    p50 = ht["ours"]["points"].get("single@1", {}).get("p50_ms")
    return (
        f"HTTP, one image, 8 connections: {ours8:,.0f} req/s = {ratio(ours8, bare)} the "
        f"bare-Flask ceiling, {ratio(ours8, ks)} KServe, {ratio(ours8, ml)} MLServer; "
        f"1 connection p50 {number(p50, '.2f')} ms."
    )
