"""What every section of BENCHMARKS.md shares: the implementations' titles, the verdict marks,
and the helpers that write a figure, a ratio, a Markdown table and a list of errors."""

from bench.targets import times

TITLES = {
    "ours": "ours (`training`, float32)",
    "engine": "ours (`service.engine`)",
    "reference": "reference (float64, `np.einsum`)",
    "torch": "PyTorch 2.13 CPU",
    "sgemm": "sgemm ceiling (the epoch's matrix products only)",
    "numpy": "plain NumPy (the peers' forward pass)",
    "gemm": "matrix products only (the same shapes, nothing else)",
}
MARK = {True: "✅ met", False: "❌ missed", None: "- not measured"}


def number(value: float | None, fmt: str, scale: float = 1.0) -> str:
    """``value * scale`` written with the format spec ``fmt``; "-" when it was not measured."""
    return "-" if value is None else format(value * scale, fmt)


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as "1.23x", truncated (:func:`bench.targets.times`); "-" if either is missing."""
    return times(a / b) if a and b else "-"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines: the header, the separator, one line per row of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def error_lines(label: str, errors: list[str]) -> list[str]:
    """One Markdown bullet per error message, each headed by ``label`` in bold."""
    return [f"- **{label}**: {e}" for e in errors]
