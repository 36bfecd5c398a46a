"""mlpserve training: a from-scratch NumPy MLP that trains models and writes ``.npz`` artifacts.

Public API (what ``tests/test_contract.py`` and other callers use):

- ``training.make_config(preset, overrides)`` -> :class:`TrainConfig` (presets in ``PRESETS``;
  ``"tiny"`` trains a 64-32-10 digits classifier in about a second).
- ``training.run(config, out_dir)`` -> :class:`RunResult`: trains, then writes
  ``out_dir/NAME.npz`` (the README's format), ``NAME.json`` (model card) and plots.
  ``result.artifact`` is the trained :class:`Artifact`; ``result.npz_path`` the file.
- :class:`Artifact`: ``artifact.output(X_raw)`` is exactly what the service must return for raw
  inputs (pixels 0-255 or features): preprocessing, ``MLP.forward``, regression de-normalisation.
- ``training.export(artifact, path)`` writes an artifact atomically; ``training.load(path)`` reads
  one back (``allow_pickle=False``) as an :class:`Artifact`.
- :class:`MLP` (``training.model``): ``forward(X)`` on preprocessed inputs (n, layer_sizes[0])
  returns probabilities (softmax / sigmoid) or standardised regression outputs; ``logits(X)``;
  ``forward_train``/``backward`` for training.

The command line is ``python -m training PRESET [--key value ...] [--out DIR]``. This package
never imports Flask, marshmallow or ``service/``.
"""

from training.config import ConfigError, TrainConfig
from training.export import Artifact, export, load
from training.model import MLP
from training.pipeline import RunResult, run
from training.presets import PRESETS, make_config
from training.train import TrainingDivergedError

__all__ = [
    "MLP",
    "PRESETS",
    "Artifact",
    "ConfigError",
    "RunResult",
    "TrainConfig",
    "TrainingDivergedError",
    "export",
    "load",
    "make_config",
    "run",
]
