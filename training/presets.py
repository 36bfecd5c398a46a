"""The named training recipes (``python -m training PRESET``) and how a run's config is built
from one: the preset, then the command line's ``--key value`` overrides, validated.

Each preset is a complete :class:`TrainConfig`; ``make train`` trains mnist, mnist-seed,
regression and moons, and the tests use tiny.
"""

from training.config import ConfigError, TrainConfig, apply_overrides

MNIST_VAL = 5000 / 60000  # the usual 55,000 / 5,000 train/validation split

PRESETS: dict[str, TrainConfig] = {
    "mnist": TrainConfig(
        name="mnist",
        dataset="mnist",
        val_fraction=MNIST_VAL,
        hidden=(512, 512),
        activation="relu",
        optimizer="adam",
        lr=2e-3,
        schedule="cosine",
        warmup=1.0,
        batch_size=256,
        epochs=70,
        dropout_hidden=0.1,
        shift=2,
        rotate=10.0,
        scale=0.1,
        elastic=1.0,
        stroke=0.5,
        lowres=0.4,
        blur=0.2,
        levels=0.5,
        label_smoothing=0.1,
        ema=0.999,
        description="MNIST MLP for real handwriting: 784-512-512-10 relu; affine, elastic, pen "
        "and capture augmentation; dropout, label smoothing, Adam + cosine, weight EMA",
    ),
    "mnist-seed": TrainConfig(
        name="mnist-seed",
        dataset="mnist",
        val_fraction=0.0,
        hidden=(256, 128, 64),
        activation="sigmoid",
        init="randn",
        optimizer="sgd",
        lr=0.5,
        batch_size=64,
        epochs=30,
        rng="legacy",
        description="the reference run: 784-256-128-64-10 sigmoid, plain SGD lr 0.5, randn "
        "weights and zero biases from np.random.seed(42), all 60,000 images, last epoch",
    ),
    "regression": TrainConfig(
        name="regression",
        dataset="regression",
        val_fraction=0.2,
        hidden=(32, 32),
        activation="tanh",
        output="identity",
        loss="squared_error",
        optimizer="adam",
        lr=1e-2,
        schedule="cosine",
        batch_size=32,
        epochs=300,
        description="1-32-32-1 tanh on the synthetic 1-D set, Adam + cosine",
    ),
    "moons": TrainConfig(
        name="moons",
        dataset="moons",
        val_fraction=0.2,
        hidden=(16, 16),
        activation="tanh",
        output="sigmoid",
        loss="binary_cross_entropy",
        lr=1e-2,
        schedule="cosine",
        batch_size=32,
        epochs=100,
        patience=20,
        description="2-16-16-1 tanh binary classifier on scikit-learn's make_moons, Adam + cosine",
    ),
    "tiny": TrainConfig(
        name="tiny",
        dataset="digits",
        hidden=(32,),
        lr=1e-2,
        epochs=8,
        description="seconds-long 64-32-10 digits classifier for tests",
    ),
}


def make_config(preset: str, overrides: dict[str, str] | None = None) -> TrainConfig:
    """The preset named ``preset`` (a key of :data:`PRESETS`) with string ``overrides`` applied
    and validated by :func:`training.config.apply_overrides`, which says what they look like.

    Raises
    ------
    ConfigError
        Unknown preset, or as :func:`~training.config.apply_overrides` raises.
    """
    if preset not in PRESETS:
        raise ConfigError(f"Unknown preset {preset!r}. Presets: {', '.join(PRESETS)}.")
    return apply_overrides(PRESETS[preset], overrides)
