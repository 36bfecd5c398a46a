"""Child process: batch-1 latency and batch-1024 throughput of our engine and of plain NumPy.

`python -m bench.engine --model NPZ --data PATH` (BLAS threads set to 1 by the parent). Ours is
`service.engine.load_model(path).forward`, plain NumPy is the peers' `NumpyMLP.probabilities`;
both take raw float32 pixels (n, 784) and return probabilities, preprocessing included, exactly
like the PyTorch child (`bench.torch_peer engine`). `gemm` times the forward pass's matrix
products alone, the floor under any NumPy engine on this BLAS.
"""

import argparse
from collections.abc import Callable

import numpy as np

from bench.peers.forward import NumpyMLP
from bench.timing import emit, per_call_seconds, summary


def products_only(path: str) -> Callable[[np.ndarray], np.ndarray]:
    """The model's matrix products for inputs (n, in), into preallocated outputs: nothing else."""
    with np.load(path, allow_pickle=False) as z:
        n_layers = len(z["activations"])
        weights = [np.ascontiguousarray(z[f"W_{i}"], dtype=np.float32) for i in range(n_layers)]
    outputs: dict[int, list[np.ndarray]] = {}

    def run(x: np.ndarray) -> np.ndarray:
        if len(x) not in outputs:
            outputs[len(x)] = [np.empty((len(x), W.shape[1]), np.float32) for W in weights]
        h = x
        for W, out in zip(weights, outputs[len(x)], strict=True):
            h = np.matmul(h, W, out=out)  # (n, out)
        return h

    return run


def main() -> None:
    """Time ours, plain NumPy and the bare products on the same inputs; emit per-call seconds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--calls1", type=int, default=2000)
    parser.add_argument("--calls1024", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from service.engine import load_model

    with np.load(args.data) as d:
        images = d["x"][:1024].astype(np.float32)
    one = images[:1].copy()
    impls = {
        "ours": load_model(args.model).forward,
        "numpy": NumpyMLP(args.model).probabilities,
        "gemm": products_only(args.model),
    }
    same = np.allclose(impls["ours"](images), impls["numpy"](images), atol=1e-4)
    out = {"outputs_match": bool(same)}
    for name, fn in impls.items():
        out[name] = {
            "batch1_seconds": summary(
                per_call_seconds(lambda f=fn: f(one), args.calls1, args.repeats)
            ),
            "batch1024_seconds": summary(
                per_call_seconds(lambda f=fn: f(images), args.calls1024, args.repeats)
            ),
        }
    emit(out)


if __name__ == "__main__":
    main()
