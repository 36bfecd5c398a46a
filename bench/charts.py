"""Matplotlib charts (PNG, Agg) of the HTTP figures: throughput vs concurrency, latencies."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import LogLocator, NullFormatter, NullLocator, ScalarFormatter


def _single_points(http: dict[str, Any]) -> list[int]:
    keys = {k for rec in http.values() for k in rec["points"]}
    return sorted(int(k.split("@")[1]) for k in keys if k.startswith("single@"))


def throughput_chart(http: dict[str, Any], path: Path) -> Path:
    """Single-image req/s against connections per server, and batch-of-64 images/s."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5), width_ratios=[3, 2])
    conns = _single_points(http)
    for rec in http.values():
        ys = [rec["points"].get(f"single@{c}", {}).get("rps") for c in conns]
        xs = [c for c, y in zip(conns, ys, strict=True) if y is not None]
        left.plot(xs, [y for y in ys if y is not None], marker="o", label=rec["title"])
    left.set(xscale="log", xlabel="wrk connections", ylabel="requests/s (median)")
    left.xaxis.set_minor_locator(NullLocator())
    left.set_xticks(conns, [str(c) for c in conns])
    left.set_title("Single-image JSON /predict")
    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    names = [rec["title"] for rec in http.values() if "batch64@8" in rec["points"]]
    images = [
        64 * rec["points"]["batch64@8"]["rps"]
        for rec in http.values()
        if "batch64@8" in rec["points"]
    ]
    right.barh(names, images, color="tab:green")
    right.set(xlabel="images/s (64 per request, 8 connections)")
    right.set_title("Batch of 64 images")
    right.tick_params(axis="y", labelsize=8)
    fig.suptitle("Throughput (2 workers per server; wrk on the same 2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_chart(http: dict[str, Any], path: Path) -> Path:
    """p50 / p90 / p99 per server at every single-image concurrency (log scale)."""
    conns = _single_points(http)
    fig, axes = plt.subplots(1, len(conns), figsize=(4.2 * len(conns), 4.2), squeeze=False)
    servers = list(http.values())
    width = 0.8 / max(1, len(servers))
    for ax, c in zip(axes[0], conns, strict=True):
        for i, rec in enumerate(servers):
            point = rec["points"].get(f"single@{c}")
            if point is None:
                continue
            values = [point["p50_ms"], point["p90_ms"], point["p99_ms"]]
            ax.bar([j + i * width for j in range(3)], values, width, label=rec["title"])
        ax.set_xticks([j + 0.4 - width / 2 for j in range(3)], ["p50", "p90", "p99"])
        ax.set(yscale="log", ylabel="latency, ms", title=f"{c} connection{'' if c == 1 else 's'}")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
    fig.suptitle("Single-image latency percentiles (wrk, medians over passes)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
