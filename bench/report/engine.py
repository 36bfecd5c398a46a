"""The Engine section of BENCHMARKS.md: one model's forward pass at batch 1 and 1024, ours
against plain NumPy, PyTorch and the matrix products alone."""

from bench.report.format import TITLES, error_lines, number, ratio, table


def lines(section: dict, s: dict) -> list[str]:
    """The section's Markdown: method, then one table per model.

    `section` is the run's raw engine results, `s` their summary (:func:`bench.summary.engine`).
    """
    if "error" in section:
        return [f"Not measured: {section['error']}"]
    out = [
        "Raw float32 pixels in, probabilities out (preprocessing included), 1 thread, the same "
        "`.npz` weights and inputs; each figure is the median of per-call means over blocks of "
        "calls, then the median over alternated processes (ours, PyTorch, ours, PyTorch …). "
        "Ours is `service.engine.load_model(...).forward`; PyTorch runs `nn.Sequential` under "
        "`torch.inference_mode()`.",
    ]
    for model, per in s.items():
        rec = section["models"][model]
        kind = "shipped weights" if rec["shipped"] else "random weights of this shape (stand-in)"
        arch = "-".join(str(v) for v in rec["layer_sizes"])
        ours = per.get("ours", {})
        rows = []
        for impl in ("ours", "numpy", "torch", "gemm"):
            r = per.get(impl, {})
            b1, b1024 = r.get("batch1_seconds"), r.get("batch1024_seconds")
            rows.append(
                [
                    TITLES["engine" if impl == "ours" else impl],
                    number(b1, ".1f", 1e6),
                    ratio(b1, ours.get("batch1_seconds")),
                    number(b1024, ".2f", 1e3),
                    number(1024 / b1024 if b1024 else None, ",.0f"),
                    ratio(b1024, ours.get("batch1024_seconds")),
                ]
            )
        out += [
            "",
            f"**`{model}`** ({arch}, {rec['activations'][0]} hidden, {rec['parameters']:,} "
            f"parameters; {kind}):",
            "",
            *table(
                [
                    "implementation",
                    "batch 1, µs",
                    "time ÷ ours",
                    "batch 1024, ms",
                    "images/s",
                    "time ÷ ours",
                ],
                rows,
            ),
        ]
        for impl, r in per.items():
            out += error_lines(f"{model} {impl}", r["errors"])
    return out
