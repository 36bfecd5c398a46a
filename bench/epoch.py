"""Child process: time one epoch of the `mnist-seed` recipe: ours, the reference, or bare GEMMs.

`python -m bench.epoch {ours,reference,sgemm,profile} --data PATH [--batches N]` prints one
BENCH_RESULT line; `sgemm` times only the epoch's matrix products, the ceiling for a NumPy trainer;
`profile` runs ours under cProfile and reports where its time goes.
The recipe: 784-256-128-64-10, sigmoid hidden, softmax + cross-entropy, plain SGD lr 0.5, batch 64,
unscaled randn init, pixels / 255. Timed: shuffled minibatch gathering + forward + backward +
update for every batch of the epoch; not timed: loading and scaling the data, building the net.
"""

import argparse
import cProfile
import itertools
import pstats
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.timing import emit

SIZES = [784, 256, 128, 64, 10]
LR = 0.5
BATCH = 64


def reference_epoch(x: np.ndarray, y: np.ndarray, batches: int) -> float:
    """Seconds for `batches` SGD steps of the reference implementation (float64, einsum)."""
    from bench.reference import ReferenceNetwork

    net = ReferenceNetwork(SIZES)
    xs = x.astype(np.float64) / 255.0
    onehot = np.eye(10)[y]
    order = np.random.default_rng(0).permutation(len(xs))
    t0 = time.perf_counter()
    for k in range(batches):
        idx = order[k * BATCH : (k + 1) * BATCH]
        net.train_batch(xs[idx], onehot[idx], LR)
    return time.perf_counter() - t0


def ours_epoch(x: np.ndarray, y: np.ndarray, batches: int) -> float:
    """Seconds of one epoch of `training.train.fit` on the `mnist-seed` preset (its own timer).

    The product's real loop: shuffled copy, forward, loss, fused backward, SGD update per batch;
    its per-epoch `seconds` excludes the validation pass, as the other timings do. `batches`
    limits the rows given to it so quick mode can run a partial epoch.
    """
    return _ours_prepared(x, y, batches)()


def _ours_prepared(x: np.ndarray, y: np.ndarray, batches: int) -> Callable[[], float]:
    """Everything before `fit` done (imports, data, network): a call runs the epoch."""
    from training.pipeline import build_model
    from training.presets import make_config
    from training.train import fit

    config = make_config("mnist-seed", {"epochs": "1"})
    rows = min(len(x), batches * BATCH)
    xs = x[:rows].astype(np.float32) / np.float32(255)
    onehot = np.eye(10, dtype=np.float32)[y[:rows]]
    model = build_model(config, xs.shape[1], 10)

    def run() -> float:
        history = fit(model, xs, onehot, xs[:1000], onehot[:1000], config, progress=False)
        return float(history.rows[0]["seconds"])

    return run


def gemm_shapes(batch: int = BATCH) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one training step: forward, dW, and dX but layer 0."""
    shapes = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(SIZES)):
        shapes.append((batch, n_in, n_out))  # a = h @ W
        shapes.append((n_in, batch, n_out))  # dW = h.T @ delta
        if i > 0:
            shapes.append((batch, n_out, n_in))  # dX = delta @ W.T
    return shapes


def epoch_flops(samples: int) -> float:
    """Floating-point operations of the epoch's matrix products (2 m k n each, per sample)."""
    return float(sum(2 * k * n * m for m, k, n in gemm_shapes(1)) * samples)


def sgemm_epoch(x: np.ndarray, y: np.ndarray, batches: int) -> float:
    """Seconds for the epoch's matrix products alone, float32 into preallocated outputs.

    The same shapes and transposes as a training step, with nothing else: the ceiling a NumPy
    trainer can approach on this machine's BLAS.
    """
    rng = np.random.default_rng(0)
    ops = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(SIZES)):
        h = rng.random((BATCH, n_in), dtype=np.float32)
        W = rng.random((n_in, n_out), dtype=np.float32)
        delta = rng.random((BATCH, n_out), dtype=np.float32)
        ops.append((h, W, np.empty((BATCH, n_out), np.float32)))
        ops.append((h.T, delta, np.empty((n_in, n_out), np.float32)))
        if i > 0:
            ops.append((delta, W.T, np.empty((BATCH, n_in), np.float32)))
    t0 = time.perf_counter()
    for _ in range(batches):
        for a, b, out in ops:
            np.matmul(a, b, out=out)
    return time.perf_counter() - t0


IMPLS = {"reference": reference_epoch, "ours": ours_epoch, "sgemm": sgemm_epoch}


def profile_epoch(x: np.ndarray, y: np.ndarray, batches: int, top: int = 10) -> dict:
    """Our epoch under cProfile: the functions with the most own time.

    A function's own time includes the NumPy ufuncs and matrix products it calls (cProfile does
    not see into them), so `forward_train` holds the forward GEMMs and `backward` the backward
    ones. cProfile adds a fixed cost to every Python call, so shares matter, not totals.
    """
    epoch = _ours_prepared(x, y, batches)
    profiler = cProfile.Profile()
    profiler.enable()
    seconds = epoch()
    profiler.disable()
    repo = str(Path(__file__).resolve().parent.parent) + "/"
    rows = []
    for (file, _, func), (_, calls, own, _, _) in pstats.Stats(profiler).stats.items():
        where = file.replace(repo, "") if file.startswith(repo) else Path(file).name
        rows.append({"function": f"{func} ({where})", "calls": calls, "seconds": own})
    rows.sort(key=lambda r: r["seconds"], reverse=True)
    total = sum(r["seconds"] for r in rows)
    return {"epoch_seconds": seconds, "profiled_seconds": total, "functions": rows[:top]}


def main() -> None:
    """Parse arguments, run the chosen implementation, emit seconds per (possibly partial) epoch."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("impl", choices=sorted([*IMPLS, "profile"]))
    parser.add_argument("--data", required=True)
    parser.add_argument("--batches", type=int, default=0, help="0: the whole epoch")
    args = parser.parse_args()
    with np.load(args.data) as d:
        x, y = d["x"], d["y"]
    full = -(-len(x) // BATCH)
    batches = args.batches or full
    if args.impl == "profile":
        emit(profile_epoch(x, y, batches))
        return
    seconds = IMPLS[args.impl](x, y, batches)
    emit(
        {
            "impl": args.impl,
            "batches": batches,
            "full_batches": full,
            "seconds": seconds,
            "epoch_seconds": seconds * full / batches,
            "extrapolated": batches < full,
            "epoch_flops": epoch_flops(len(x)),
        }
    )


if __name__ == "__main__":
    main()
