"""End to end on the tiny preset: artifact per the README contract, model card, determinism."""

import json
from pathlib import Path

import numpy as np
import pytest

from training import export, load, make_config, run
from training.cli import main

CONTRACT_KEYS = {
    "format_version", "name", "version", "task", "input_kind", "input_shape", "input_min",
    "input_max", "input_scale", "input_mean", "input_std", "layer_sizes", "activations",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("models")
    assert main(["tiny", "--out", str(out), "--quiet"]) == 0
    return out


def test_cli_writes_contract_npz(tiny_run: Path) -> None:
    with np.load(tiny_run / "tiny.npz", allow_pickle=False) as f:
        arrays = dict(f)
    L = len(arrays["activations"])
    expected = CONTRACT_KEYS | {f"W_{i}" for i in range(L)} | {f"b_{i}" for i in range(L)}
    assert set(arrays) == expected | {"labels"}
    assert int(arrays["format_version"]) == 1 and arrays["format_version"].dtype == np.int64
    assert str(arrays["name"]) == "tiny" and str(arrays["task"]) == "multiclass"
    assert len(str(arrays["version"])) == 16 and str(arrays["version"]).endswith("Z")
    assert arrays["layer_sizes"].tolist() == [64, 32, 10]
    assert arrays["activations"].tolist() == ["relu", "softmax"]
    assert arrays["input_shape"].tolist() == [8, 8]
    assert arrays["labels"].dtype == np.int64 and arrays["labels"].tolist() == list(range(10))
    for key, value in arrays.items():
        if value.dtype.kind == "f":
            assert value.dtype == np.float32, key
    for i in range(L):
        n_in, n_out = arrays["layer_sizes"][i : i + 2]
        assert arrays[f"W_{i}"].shape == (n_in, n_out) and arrays[f"b_{i}"].shape == (n_out,)
    assert np.all(arrays["input_std"] > 0)


def test_cli_writes_card_and_plots(tiny_run: Path) -> None:
    card = json.loads((tiny_run / "tiny.json").read_text())
    metrics = card["metrics"]
    assert metrics["test_accuracy"] > 0.85
    assert len(metrics["per_class_accuracy"]) == 10
    assert np.array(metrics["confusion_matrix"]).sum() == card["data"]["n_test"]
    assert (
        card["npz_sha256"]
        == __import__("hashlib").sha256((tiny_run / "tiny.npz").read_bytes()).hexdigest()
    )
    assert card["config"]["hidden"] == [32] and card["libraries"]["numpy"] == np.__version__
    assert card["training"]["seconds"] >= 0
    assert (tiny_run / "tiny.curves.png").stat().st_size > 0
    assert (tiny_run / "tiny.confusion.png").stat().st_size > 0
    assert not list(tiny_run.glob(".*.tmp"))  # atomic writes left no temporary file


def test_loaded_artifact_reproduces_training_outputs(tiny_run: Path, tmp_path: Path) -> None:
    artifact = load(tiny_run / "tiny.npz")
    X = np.random.default_rng(0).integers(0, 17, (5, 8, 8))
    probs = artifact.output(X)
    assert probs.shape == (5, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    export(artifact, tmp_path / "again.npz")
    np.testing.assert_array_equal(load(tmp_path / "again.npz").output(X), probs)


def test_same_seed_same_weights(tmp_path: Path) -> None:
    a = run(make_config("tiny", {"dropout_hidden": "0.2"}), tmp_path / "a", progress=False)
    b = run(make_config("tiny", {"dropout_hidden": "0.2"}), tmp_path / "b", progress=False)
    c = run(make_config("tiny", {"seed": "7"}), tmp_path / "c", progress=False)
    for Wa, Wb, Wc in zip(a.artifact.model.W, b.artifact.model.W, c.artifact.model.W, strict=True):
        np.testing.assert_array_equal(Wa, Wb)
        assert not np.array_equal(Wa, Wc)


def test_non_finite_loss_is_an_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "models"
    code = main(["tiny", "--optimizer", "sgd", "--lr", "1e30", "--out", str(out), "--quiet"])
    assert code == 1
    assert "Loss became" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())


@pytest.mark.parametrize(
    ("preset", "overrides", "task"),
    [
        ("moons", {"epochs": "3"}, "binary"),
        ("regression", {"epochs": "3"}, "regression"),
    ],
)
def test_other_tasks_export(tmp_path: Path, preset: str, overrides: dict, task: str):
    result = run(make_config(preset, overrides), tmp_path, progress=False)
    with np.load(result.npz_path, allow_pickle=False) as f:
        assert str(f["task"]) == task
        if task == "regression":
            assert "labels" not in f and f["output_std"].dtype == np.float32
            assert f["input_min"] == -np.inf and f["input_max"] == np.inf
        else:
            assert f["labels"].tolist() == [0, 1] and "output_mean" not in f
    metrics = result.card["metrics"]
    assert ("test_mse" in metrics and "noise_var" in metrics) or "test_accuracy" in metrics
