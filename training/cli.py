"""``python -m training PRESET [--key value ...] [--out DIR] [--quiet]``."""

import argparse
import sys

from training.config import ConfigError, config_keys
from training.mnist import DataError
from training.presets import PRESETS, make_config
from training.train import TrainingDivergedError


def _parser() -> argparse.ArgumentParser:
    presets = "\n".join(f"  {name:<11} {cfg.description}" for name, cfg in PRESETS.items())
    return argparse.ArgumentParser(
        prog="python -m training",
        description="Train a NumPy MLP and write models/NAME.npz, NAME.json and plots.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"presets:\n{presets}\n\nconfig keys (--key value): {', '.join(config_keys())}",
    )


def _split_overrides(extra: list[str]) -> dict[str, str]:
    """``["--lr", "0.1", "--hidden=64,32"]`` -> ``{"lr": "0.1", "hidden": "64,32"}``."""
    overrides, i = {}, 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--"):
            raise ConfigError(f"Expected --key value, got {token!r}.")
        if "=" in token:
            key, value = token[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(extra):
                raise ConfigError(f"{token} needs a value.")
            key, value = token[2:], extra[i + 1]
            i += 2
        overrides[key] = value
    return overrides


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, train, export; return the process exit code."""
    parser = _parser()
    parser.add_argument("preset", choices=list(PRESETS), metavar="PRESET", help="preset name")
    parser.add_argument("--out", default="models", help="output folder (default: models)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    args, extra = parser.parse_known_args(argv)
    try:
        config = make_config(args.preset, _split_overrides(extra))
    except ConfigError as exc:
        parser.error(str(exc))
    from training.pipeline import run  # heavy imports (matplotlib) only once the config is valid

    try:
        result = run(config, args.out, progress=not args.quiet)
    except (TrainingDivergedError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    metrics = result.card["metrics"]
    summary = ", ".join(
        f"{key} {metrics[key]:.4f}" for key in ("test_accuracy", "test_mse") if key in metrics
    )
    print(
        f"wrote {result.npz_path} ({summary}; {result.card['training']['seconds']:.1f} s, "
        f"{result.card['training']['mean_epoch_seconds']:.3f} s/epoch)"
    )
    return 0
