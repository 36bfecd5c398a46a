"""Child process run in the PyTorch virtualenv: the same training epoch and inference as ours.

`python -m bench.torch_peer epoch --data PATH --threads N [--batches N]` times one epoch of the
mnist-seed recipe (784-256-128-64-10 sigmoid, softmax cross-entropy, SGD lr 0.5, batch 64, randn
init). `python -m bench.torch_peer engine --model NPZ --data PATH` times batch-1 latency and
batch-1024 throughput of the `.npz` weights under `torch.inference_mode()` with one thread.
"""

import argparse
import itertools
import time

import numpy as np
import torch
from torch import nn

from bench.timing import emit, per_call_seconds, summary

SIZES = [784, 256, 128, 64, 10]
ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "softmax": lambda: nn.Softmax(dim=1),
    "identity": nn.Identity,
}


def epoch(args: argparse.Namespace) -> dict:
    """Seconds for one epoch (or `--batches` steps) of plain SGD on the mnist-seed network."""
    torch.manual_seed(42)
    layers: list[nn.Module] = []
    for i, (m, n) in enumerate(itertools.pairwise(SIZES)):
        lin = nn.Linear(m, n)
        with torch.no_grad():
            lin.weight.normal_()  # the recipe's unscaled randn initialisation
            lin.bias.normal_()
        layers.append(lin)
        if i < len(SIZES) - 2:
            layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)  # logits; CrossEntropyLoss applies log-softmax
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with np.load(args.data) as d:
        x = torch.from_numpy(d["x"]).float() / 255.0
        y = torch.from_numpy(d["y"])
    full = -(-len(x) // 64)
    batches = args.batches or full
    order = torch.randperm(len(x))
    t0 = time.perf_counter()
    for k in range(batches):
        idx = order[k * 64 : (k + 1) * 64]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "batches": batches,
        "epoch_seconds": seconds * full / batches,
        "extrapolated": batches < full,
    }


def engine(args: argparse.Namespace) -> dict:
    """Per-call seconds at batch 1 and batch 1024 for the `.npz` model, preprocessing included."""
    with np.load(args.model, allow_pickle=False) as z:
        acts = [str(a) for a in z["activations"]]
        layers: list[nn.Module] = []
        for i, act in enumerate(acts):
            W = torch.from_numpy(z[f"W_{i}"].astype(np.float32))
            lin = nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                lin.weight.copy_(W.T)
                lin.bias.copy_(torch.from_numpy(z[f"b_{i}"].astype(np.float32)))
            layers += [lin, ACTIVATIONS[act]()]
        scale = float(z["input_scale"])
        mean = torch.from_numpy(z["input_mean"].astype(np.float32))
        std = torch.from_numpy(z["input_std"].astype(np.float32))
    model = nn.Sequential(*layers).eval()

    def forward(x: torch.Tensor) -> torch.Tensor:
        return model((x * scale - mean) / std)

    with np.load(args.data) as d:
        images = torch.from_numpy(d["x"][:1024].astype(np.float32))
    one = images[:1].clone()
    out = {}
    with torch.inference_mode():
        out["batch1_seconds"] = summary(
            per_call_seconds(lambda: forward(one), args.calls1, args.repeats)
        )
        out["batch1024_seconds"] = summary(
            per_call_seconds(lambda: forward(images), args.calls1024, args.repeats)
        )
    return out


def main() -> None:
    """Parse the command, pin the thread count, run and emit the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["epoch", "engine"])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=0)
    parser.add_argument("--calls1", type=int, default=2000)
    parser.add_argument("--calls1024", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = epoch(args) if args.command == "epoch" else engine(args)
    result.update(torch_version=torch.__version__, threads=torch.get_num_threads())
    emit(result)


if __name__ == "__main__":
    main()
