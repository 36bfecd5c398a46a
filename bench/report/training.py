"""The Training section of BENCHMARKS.md: one mnist-seed epoch per implementation and BLAS
thread count, and the `mnist` preset's time to accuracy."""

from bench.report.format import TITLES, error_lines, number, ratio, table


def lines(section: dict, per_threads: dict) -> list[str]:
    """The section's Markdown: method, one epoch table per thread count, time to accuracy.

    `section` is the run's raw training results, `per_threads` their summary per thread count
    (:func:`bench.summary.training`).
    """
    if "error" in section:
        return [f"Not measured: {section['error']}"]
    out = [
        "One epoch of the `mnist-seed` recipe (784-256-128-64-10 sigmoid, softmax cross-entropy, "
        "plain SGD lr 0.5, batch 64, unscaled randn init) over the same 60,000 MNIST images "
        "(938 batches; `make train`'s own mnist-seed epoch covers its training split, 55,000 "
        "images), each implementation in its own process with the same BLAS/OpenMP thread "
        "count: 1 (what `make train` uses: immune to a busy neighbour) and 2 (the machine's "
        "cores: faster when it is idle, 10-20x slower when another process is busy, because "
        "OpenBLAS's two threads wait for each other). Ours is `training.train.fit` (its own "
        "per-epoch timer, validation excluded); the reference is `bench/reference.py`; PyTorch "
        "uses `nn.Linear`, `CrossEntropyLoss` and `optim.SGD`. GFLOP/s counts the epoch's matrix "
        "products only (forward, dW and dX: 63.1 GFLOP), so it compares with the sgemm ceiling.",
    ]
    for threads, s in per_threads.items():
        out += _epochs(threads, s)
    return [*out, "", _time_to_accuracy(section.get("time_to_accuracy", {}))]


def _epochs(threads: str, s: dict) -> list[str]:
    """The epoch table at `threads` BLAS threads: each implementation's time against ours."""
    ours = s.get("ours", {}).get("epoch_seconds")
    rows = []
    for impl in ("ours", "reference", "torch", "sgemm"):
        rec = s.get(impl)
        if rec is None:
            continue
        note = " (partial epoch, extrapolated)" if rec["extrapolated"] else ""
        rows.append(
            [
                TITLES[impl] + note,
                number(rec["epoch_seconds"], ".2f"),
                "1.00x" if impl == "ours" else ratio(rec["epoch_seconds"], ours),
                number(rec["gflops"], ".1f"),
                str(rec["passes"]),
            ]
        )
    out = [
        "",
        f"**{threads} BLAS thread{'' if threads == '1' else 's'} per implementation:**",
        "",
        *table(["implementation", "epoch, s", "time ÷ ours", "GFLOP/s", "passes"], rows),
    ]
    for impl, rec in s.items():
        out += error_lines(f"{impl}, {threads} thread(s)", rec["errors"])
    return out


def _time_to_accuracy(tta: dict) -> str:
    """One paragraph: when the shipped `mnist` run reached 98 % and 99 % (read, not re-run)."""
    text = "**Time to accuracy, `mnist` preset.** "
    if "error" in tta:
        return text + f"Not measured: {tta['error']}."
    parts = []
    for key, label in (("to_0.98", "98 %"), ("to_0.99", "99 %")):
        hit = tta.get(key)
        parts.append(
            f"{label} validation accuracy after {hit['seconds']:.1f} s of training "
            f"(epoch {hit['epoch']})"
            if hit
            else f"{label} not reached in {tta['epochs_run']} epochs"
        )
    return text + (
        "; ".join(parts)
        + f". Best validation accuracy {tta['best_val_accuracy']:.4f}, test accuracy "
        f"{tta['test_accuracy']}, {tta['total_seconds']} s for {tta['epochs_run']} epochs "
        f"with BLAS threads = {tta.get('blas_threads', 'unknown')}. Read from "
        f"{tta['source']} (the shipped training run, which may have shared the machine "
        "with other work), not re-run by the bench: training seconds per epoch, "
        "validation passes excluded."
    )
