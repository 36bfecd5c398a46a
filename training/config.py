"""The one typed training configuration and its strict ``--key value`` overrides.

Like nanoGPT's ``GPTConfig`` with its configurator: a dataclass whose field types are enforced,
unknown keys refused with the valid ones listed, and names checked against the lookup tables
before the first epoch (scikit-learn's ``_validate_hyperparameters``). The named presets these
overrides start from, and ``make_config``, are in :mod:`training.presets`.
"""

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from training.activations import HIDDEN_ACTIVATIONS
from training.initializers import AUTO_INIT, INITIALIZERS
from training.losses import LOSS_FUNCTIONS, OUTPUT_LOSS_PAIRS
from training.optimizers import OPTIMIZERS
from training.schedules import SCHEDULES

# dataset -> the output activation its task needs (multiclass, regression, binary, multiclass)
DATASET_OUTPUTS = {
    "mnist": "softmax",
    "regression": "identity",
    "moons": "sigmoid",
    "digits": "softmax",
}
DATASETS = tuple(DATASET_OUTPUTS)
IMAGE_SETS = ("mnist", "digits")
DTYPES = ("float32", "float64")
# Where a run's random numbers come from. "pcg64": NumPy Generators, default_rng(seed) for the
# initial weights and default_rng(seed + 1) for shuffling, dropout and augmentation. "legacy": one
# RandomState(seed), the stream of the legacy global generator after np.random.seed(seed), drawn
# in the reference's order: each layer's weights (randn(fan_in, fan_out)), then one
# permutation(n) per epoch. It serves no dropout or augmentation (they would draw from it).
RANDOM_STREAMS = ("pcg64", "legacy")


class ConfigError(ValueError):
    """A configuration key, value or combination that training refuses."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (with the seed, the run is reproducible)."""

    name: str = "tiny"  # artifact name: models/NAME.npz
    dataset: str = "digits"  # one of DATASETS
    train_limit: int = 0  # use only the first N shuffled training rows (0: all)
    val_fraction: float = 0.1  # share held out for validation (0: none, keep the last epoch)
    hidden: tuple[int, ...] = (32,)  # hidden layer widths
    activation: str = "relu"  # hidden activation
    output: str = "softmax"  # output activation: softmax, sigmoid or identity
    loss: str = "cross_entropy"  # must pair with output (see losses.OUTPUT_LOSS_PAIRS)
    init: str = "auto"  # he, xavier, randn, or auto (he for relu-like, xavier otherwise)
    optimizer: str = "adam"  # sgd or adam
    lr: float = 1e-3  # base learning rate
    momentum: float = 0.0  # sgd only
    nesterov: bool = False  # sgd only
    beta1: float = 0.9  # adam only
    beta2: float = 0.999  # adam only
    schedule: str = "constant"  # constant, cosine or step
    warmup: float = 0.0  # epochs of linear learning-rate warm-up
    step_every: int = 10  # step schedule: epochs between decays
    gamma: float = 0.1  # step schedule: decay factor
    min_lr_ratio: float = 0.0  # cosine schedule: final rate / base rate
    weight_decay: float = 0.0  # L2 penalty coefficient on weights (not biases)
    clip_norm: float = 0.0  # clip the global gradient norm to this (0: off)
    batch_size: int = 64
    epochs: int = 10
    patience: int = 0  # early stopping after N epochs without improvement (0: off)
    seed: int = 42
    rng: str = "pcg64"  # random stream: pcg64 or legacy (see RANDOM_STREAMS)
    dtype: str = "float32"  # arithmetic of training: float32 or float64 (artifacts are float32)
    dropout_input: float = 0.0
    dropout_hidden: float = 0.0
    shift: int = 0  # image datasets: random translation of up to N pixels per epoch
    rotate: float = 0.0  # image datasets: random rotation of up to N degrees per epoch
    scale: float = 0.0  # image datasets: random zoom by a factor in [1 - scale, 1 + scale]
    elastic: float = 0.0  # image datasets: RMS pixels of a random elastic displacement field
    stroke: float = 0.0  # image datasets: share of images drawn with a thicker or thinner pen
    lowres: float = 0.0  # image datasets: share captured at 7x7-14x14 pixels and scaled back
    blur: float = 0.0  # image datasets: share blurred (Gaussian, sigma 0.4-1.1 px)
    levels: float = 0.0  # image datasets: share given a random contrast stretch
    label_smoothing: float = 0.0  # softmax only
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: off)
    description: str = field(default="", compare=False)  # one line for --help and the card


def config_keys() -> list[str]:
    """Names of the keys ``--key value`` may set."""
    return [f.name for f in fields(TrainConfig)]


def _parse(key: str, kind: Any, text: str) -> Any:
    """Convert the command-line string ``text`` to the type ``kind`` of field ``key``."""
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return lowered in ("true", "1", "yes")
        if kind == tuple[int, ...]:
            return tuple(int(part) for part in text.split(",") if part.strip())
        return kind(text)
    except ValueError:
        type_name = getattr(kind, "__name__", str(kind))
        if kind == tuple[int, ...]:
            type_name = "comma-separated ints, e.g. 512,512"
        raise ConfigError(f"--{key}: expected {type_name}, got {text!r}") from None


def apply_overrides(base: TrainConfig, overrides: dict[str, str] | None = None) -> TrainConfig:
    """``base`` with string overrides applied, validated.

    Parameters
    ----------
    base : TrainConfig
        The starting point, usually a preset (:func:`training.presets.make_config`).
    overrides : dict of str to str, optional
        ``{key: value}`` as typed on the command line (``--lr 0.01`` -> ``{"lr": "0.01"}``).

    Returns
    -------
    TrainConfig

    Raises
    ------
    ConfigError
        Unknown key, unparsable value, or an invalid value or combination.
    """
    types = {f.name: f.type for f in fields(TrainConfig)}
    values = {}
    for key, text in (overrides or {}).items():
        norm = key.replace("-", "_")
        if norm not in types:
            raise ConfigError(f"Unknown key {key!r}. Valid keys: {', '.join(config_keys())}.")
        values[norm] = _parse(norm, types[norm], text)
    config = dataclasses.replace(base, **values)
    validate(config)
    return config


def _choice(key: str, value: str, valid: Any) -> None:
    if value not in valid:
        raise ConfigError(
            f"The {key} {value!r} is not supported. Supported values are {', '.join(valid)}."
        )


def validate(config: TrainConfig) -> None:
    """Refuse names, pairings and ranges training cannot use, before the first epoch.

    Raises
    ------
    ConfigError
    """
    _choice("dataset", config.dataset, DATASETS)
    _choice("activation", config.activation, HIDDEN_ACTIVATIONS)
    _choice("init", config.init, [*INITIALIZERS, "auto"])
    _choice("optimizer", config.optimizer, OPTIMIZERS)
    _choice("schedule", config.schedule, SCHEDULES)
    _choice("rng", config.rng, RANDOM_STREAMS)
    _choice("dtype", config.dtype, DTYPES)
    _choice("output", config.output, OUTPUT_LOSS_PAIRS)
    _choice("loss", config.loss, LOSS_FUNCTIONS)
    if OUTPUT_LOSS_PAIRS[config.output] != config.loss:
        pairs = ", ".join(f"{o} + {loss}" for o, loss in OUTPUT_LOSS_PAIRS.items())
        raise ConfigError(
            f"Output {config.output!r} cannot be trained with loss {config.loss!r}. "
            f"Valid output + loss pairs: {pairs}."
        )
    if DATASET_OUTPUTS[config.dataset] != config.output:
        raise ConfigError(
            f"Dataset {config.dataset!r} needs output {DATASET_OUTPUTS[config.dataset]!r}, "
            f"not {config.output!r}."
        )
    checks = [
        (not config.hidden or min(config.hidden) < 1, "hidden widths must be >= 1"),
        (config.lr <= 0, "lr must be > 0"),
        (config.batch_size < 1, "batch_size must be >= 1"),
        (config.epochs < 1, "epochs must be >= 1"),
        (config.patience < 0, "patience must be >= 0"),
        (config.train_limit < 0, "train_limit must be >= 0"),
        (not 0 <= config.val_fraction < 1, "val_fraction must be in [0, 1)"),
        (config.patience and not config.val_fraction, "patience needs a validation split"),
        (
            config.rng == "legacy"
            and (augments(config) or config.dropout_input or config.dropout_hidden),
            "rng legacy draws weights and shuffles only: no dropout or augmentation",
        ),
        (not 0 <= config.momentum < 1, "momentum must be in [0, 1)"),
        (not 0 <= config.beta1 < 1 or not 0 <= config.beta2 < 1, "beta1, beta2 must be in [0, 1)"),
        (not 0 <= config.dropout_input < 1, "dropout_input must be in [0, 1)"),
        (not 0 <= config.dropout_hidden < 1, "dropout_hidden must be in [0, 1)"),
        (not 0 <= config.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
        (not 0 <= config.ema < 1, "ema must be in [0, 1)"),
        (config.weight_decay < 0 or config.clip_norm < 0, "weight_decay, clip_norm must be >= 0"),
        (config.warmup < 0 or config.shift < 0, "warmup, shift must be >= 0"),
        (config.step_every < 1 or not 0 < config.gamma <= 1, "step_every >= 1, 0 < gamma <= 1"),
        (config.nesterov and config.momentum == 0, "nesterov needs momentum > 0"),
        (config.rotate < 0 or not 0 <= config.scale < 1, "rotate >= 0, 0 <= scale < 1"),
        (config.elastic < 0, "elastic must be >= 0"),
        (
            any(not 0 <= p <= 1 for p in pen_probabilities(config).values()),
            f"{', '.join(PEN_KEYS)} are shares of images: in [0, 1]",
        ),
        (
            augments(config) and config.dataset not in IMAGE_SETS,
            "shift, rotate, scale, elastic and the pen effects need an image dataset",
        ),
        (config.label_smoothing > 0 and config.output != "softmax", "label_smoothing: softmax"),
    ]
    for failed, message in checks:
        if failed:
            raise ConfigError(message)


PEN_KEYS = ("stroke", "lowres", "blur", "levels")  # training.pen.EFFECTS, in config keys


def pen_probabilities(config: TrainConfig) -> dict[str, float]:
    """``{effect: share of images}`` for :class:`training.pen.PenEffects`."""
    return {key: getattr(config, key) for key in PEN_KEYS}


def augments(config: TrainConfig) -> bool:
    """Whether the config asks for any augmentation of the training images."""
    geometry = config.shift or config.rotate or config.scale or config.elastic
    return bool(geometry or any(pen_probabilities(config).values()))


def resolved_init(config: TrainConfig) -> str:
    """The initialiser ``init="auto"`` stands for with this hidden activation."""
    return AUTO_INIT[config.activation] if config.init == "auto" else config.init
