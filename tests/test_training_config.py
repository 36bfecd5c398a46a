"""Config overrides, validation messages and the command line's --help."""

import pytest

from training.cli import main
from training.config import ConfigError
from training.presets import PRESETS, make_config


def test_presets_are_valid() -> None:
    assert {"mnist", "mnist-seed", "regression", "moons", "tiny"} <= set(PRESETS)
    for name in PRESETS:
        assert make_config(name).name == name


def test_overrides_are_typed() -> None:
    config = make_config(
        "tiny", {"lr": "0.5", "hidden": "64,32", "nesterov": "true", "momentum": "0.9"}
    )
    assert config.lr == 0.5
    assert config.hidden == (64, 32)
    assert config.nesterov is True
    assert make_config("tiny", {"batch-size": "16"}).batch_size == 16


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(ConfigError, match=r"Unknown key 'learning_rate'. Valid keys: .*lr.*"):
        make_config("tiny", {"learning_rate": "0.1"})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("epochs", "ten", "expected int"),
        ("lr", "fast", "expected float"),
        ("nesterov", "maybe", "expected bool"),
        ("hidden", "a,b", "comma-separated ints"),
    ],
)
def test_wrong_type_is_refused(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        make_config("tiny", {key: value})


def test_invalid_output_loss_pair_lists_valid_pairs() -> None:
    with pytest.raises(ConfigError) as info:
        make_config("tiny", {"loss": "squared_error"})
    message = str(info.value)
    assert "'softmax' cannot be trained with loss 'squared_error'" in message
    for pair in (
        "identity + squared_error",
        "sigmoid + binary_cross_entropy",
        "softmax + cross_entropy",
    ):
        assert pair in message


def test_output_must_suit_the_dataset() -> None:
    with pytest.raises(ConfigError, match="Dataset 'digits' needs output 'softmax', not 'sigmoid'"):
        make_config("tiny", {"output": "sigmoid", "loss": "binary_cross_entropy"})


def test_unknown_names_list_supported_values() -> None:
    with pytest.raises(ConfigError, match=r"activation 'gelu' is not supported.*relu, sigmoid"):
        make_config("tiny", {"activation": "gelu"})
    with pytest.raises(ConfigError, match=r"optimizer 'rmsprop' .* sgd, adam"):
        make_config("tiny", {"optimizer": "rmsprop"})
    with pytest.raises(ConfigError, match="Unknown preset 'huge'"):
        make_config("huge")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("lr", "-1", "lr must be > 0"),
        ("dropout_hidden", "1.0", "dropout_hidden"),
        ("nesterov", "true", "nesterov needs momentum"),
        ("batch_size", "0", "batch_size"),
        ("stroke", "1.5", "stroke, lowres, blur, levels are shares of images"),
        ("elastic", "-1", "elastic must be >= 0"),
        ("rng", "mt19937", "rng 'mt19937' is not supported. Supported values are pcg64, legacy"),
        ("dtype", "float16", "dtype 'float16' is not supported"),
    ],
)
def test_out_of_range_values_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config("tiny", {key: value})


def test_help_lists_presets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in PRESETS:
        assert name in out
    assert "--out" in out


def test_cli_refuses_bad_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["tiny", "--colour", "blue"])
    assert info.value.code == 2
    assert "Unknown key 'colour'. Valid keys:" in capsys.readouterr().err


def test_legacy_stream_and_no_validation_refuse_what_they_cannot_serve() -> None:
    with pytest.raises(ConfigError, match="rng legacy draws weights and shuffles only"):
        make_config("mnist-seed", {"dropout_hidden": "0.1"})
    with pytest.raises(ConfigError, match="rng legacy draws weights and shuffles only"):
        make_config("mnist-seed", {"blur": "0.2"})
    with pytest.raises(ConfigError, match="patience needs a validation split"):
        make_config("mnist-seed", {"patience": "3"})
    with pytest.raises(ConfigError, match="need an image dataset"):
        make_config("moons", {"elastic": "1"})


def test_mnist_seed_is_the_reference_run() -> None:
    config = make_config("mnist-seed")
    assert (config.rng, config.seed, config.init, config.val_fraction) == ("legacy", 42, "randn", 0)
    assert (config.hidden, config.batch_size, config.epochs, config.lr) == (
        (256, 128, 64),
        64,
        30,
        0.5,
    )
