"""``python -m robustness [--models-dir DIR] [--limit N] [NAME ...]``: the robustness report."""

import argparse
import sys
from pathlib import Path

from robustness.report import measure, plot, record, table
from training.mnist import load_mnist


def main(argv: list[str] | None = None) -> int:
    """Measure the named image models in ``--models-dir``, record, plot, print the table."""
    parser = argparse.ArgumentParser(prog="python -m robustness", description=__doc__)
    parser.add_argument("names", nargs="*", default=["mnist", "mnist-seed"], metavar="NAME")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--limit", type=int, default=0, help="first N test digits (0: all)")
    args = parser.parse_args(argv)
    result = measure([args.models_dir / f"{n}.npz" for n in args.names], args.limit)
    record(result, args.models_dir)
    plot(result, load_mnist().x_test[0].reshape(28, 28), args.models_dir / "robustness.png")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
