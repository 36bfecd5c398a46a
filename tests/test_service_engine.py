"""The artifact and the engine: contract validation of every kind, the folded forward pass."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from service import v1
from service.config import DEFAULTS
from service.dataplane import DataPlane
from service.engine import load_model
from service.errors import (
    ArtifactError,
    InvalidInputError,
    ModelUnavailableError,
    NotFoundError,
)
from service.registry import Registry


def reference_forward(a: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The contract's arithmetic, literally, in float64 (no folding)."""
    h = (x.astype(np.float64) * float(a["input_scale"]) - a["input_mean"]) / a["input_std"]
    for i, act in enumerate(a["activations"]):
        h = h @ a[f"W_{i}"].astype(np.float64) + a[f"b_{i}"]
        if act == "relu":
            h = np.maximum(h, 0)
        elif act == "leaky_relu":
            h = np.where(h > 0, h, 0.01 * h)
        elif act in ("sigmoid",):
            h = 1 / (1 + np.exp(-h))
        elif act == "tanh":
            h = np.tanh(h)
        elif act == "softmax":
            e = np.exp(h - h.max(axis=1, keepdims=True))
            h = e / e.sum(axis=1, keepdims=True)
    if "output_mean" in a:
        h = h * a["output_std"] + a["output_mean"]
    return h


@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
@pytest.mark.parametrize(
    "hidden",
    [("sigmoid", "relu"), ("tanh", "leaky_relu"), ("sigmoid", "sigmoid"), ("relu", "tanh")],
)
def test_forward_matches_the_contract_arithmetic(
    tmp_path, contract_arrays, write_npz, task, hidden
):
    sizes = (6, 5, 4, 3 if task == "multiclass" else 1)
    a = contract_arrays(task=task, sizes=sizes, hidden=hidden)
    model = load_model(write_npz(tmp_path, a))
    x = np.random.default_rng(1).uniform(0, 255, (7, 6)).astype(np.float32)
    want = reference_forward(a, x)
    np.testing.assert_allclose(model.forward(x), want, rtol=1e-5, atol=1e-5)
    # Batch 1 takes the in-place buffer path; it must agree and must not alias its result.
    first = model.forward(x[:1])
    second = model.forward(x[1:2])
    np.testing.assert_allclose(first, want[:1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(second, want[1:2], rtol=1e-5, atol=1e-5)


def test_predict_formats_each_task(tmp_path, contract_arrays, write_npz):
    x = np.full((2, 6), 100, np.float32)
    multi = load_model(write_npz(tmp_path, contract_arrays(name="a", sizes=(6, 4, 3))))
    p = v1.predictions(multi, multi.forward(x))
    assert len(p) == 2 and set(p[0]) == {"label", "probabilities"}
    assert p[0]["label"] == int(np.argmax(p[0]["probabilities"]))
    assert np.isclose(float(np.sum(p[0]["probabilities"])), 1, atol=1e-5)
    binary = load_model(
        write_npz(tmp_path, contract_arrays(name="b", task="binary", sizes=(6, 4, 1)))
    )
    (q, _) = v1.predictions(binary, binary.forward(x))
    assert set(q) == {"label", "probability"}
    assert q["label"] == (1 if q["probability"] >= 0.5 else 0)
    reg = load_model(
        write_npz(tmp_path, contract_arrays(name="c", task="regression", sizes=(6, 4, 1)))
    )
    (r, _) = v1.predictions(reg, reg.forward(x))
    assert set(r) == {"value"} and np.isfinite(r["value"])


def test_metadata_and_card(tmp_path, contract_arrays, write_npz):
    path = write_npz(tmp_path, contract_arrays(name="m"))
    (tmp_path / "m.json").write_text('{"metrics": {"test_accuracy": 0.98}, "epochs": 3}')
    model = load_model(path)
    d = v1.describe(model)
    import hashlib

    assert d["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert d["layer_sizes"] == [6, 5, 4, 3]
    assert d["labels"] == [0, 1, 2]
    assert d["metrics"] == {"test_accuracy": 0.98}
    assert d["input"] == {"kind": "features", "field": "features", "shape": [6], "min": 0.0,
                          "max": 255.0}  # fmt: skip


# -- every contract violation is refused with a reason ------------------------------------------


def _drop(key):
    def f(a):
        del a[key]

    return f


def _set(key, value):
    def f(a):
        a[key] = value

    return f


VIOLATIONS = {
    "missing key": (_drop("W_1"), "missing key 'W_1'"),
    "format version": (_set("format_version", np.array(2, np.int64)), "format_version 2"),
    "format version dtype": (_set("format_version", np.array(1.0)), "'format_version' must be"),
    "unknown task": (_set("task", np.array("ranking")), "task 'ranking'"),
    "unknown input kind": (_set("input_kind", np.array("audio")), "input_kind 'audio'"),
    "name differs from file": (_set("name", np.array("other")), "does not match the file name"),
    "bad version string": (_set("version", np.array("yesterday")), "YYYYMMDDTHHMMSSZ"),
    "string as bytes": (_set("task", np.array(b"multiclass")), "'task' must be a 0-d unicode"),
    "unknown hidden activation": (
        _set("activations", np.array(["swish", "relu", "softmax"])),
        "activations[0] 'swish'",
    ),
    "output activation for task": (
        _set("activations", np.array(["sigmoid", "relu", "identity"])),
        "does not fit task 'multiclass'",
    ),
    "activations count": (_set("activations", np.array(["relu", "softmax"])), "activations must"),
    "weights float64": (
        lambda a: a.__setitem__("W_0", a["W_0"].astype(np.float64)),
        "'W_0' must be float32",
    ),
    "weights not finite": (
        lambda a: a["W_2"].__setitem__((0, 0), np.nan),
        "'W_2' contains NaN",
    ),
    "bias infinite": (lambda a: a["b_1"].__setitem__(0, np.inf), "'b_1' contains NaN or infinite"),
    "shapes do not chain": (
        lambda a: a.__setitem__("W_1", np.zeros((4, 4), np.float32)),
        "'W_1' must have shape (5, 4)",
    ),
    "bias shape": (_set("b_0", np.zeros(6, np.float32)), "'b_0' must have shape (5,)"),
    "input shape product": (_set("input_shape", np.array([2, 2], np.int64)), "input_shape (2, 2)"),
    "input std zero": (lambda a: a["input_std"].__setitem__(2, 0), "input_std must be > 0"),
    "input mean shape": (_set("input_mean", np.zeros(5, np.float32)), "'input_mean' must have"),
    "input scale dtype": (_set("input_scale", np.array(1 / 255)), "'input_scale' must be float32"),
    "input range reversed": (_set("input_min", np.array(300, np.float32)), "input_min must be"),
    "labels length": (_set("labels", np.arange(4, dtype=np.int64)), "labels must have shape (3,)"),
    "labels repeated": (_set("labels", np.array([1, 1, 2], np.int64)), "labels are not distinct"),
    "labels missing": (_drop("labels"), "missing key 'labels'"),
    "unexpected key": (_set("extra", np.zeros(1)), "unexpected key(s) 'extra'"),
    "layer sizes dtype": (
        _set("layer_sizes", np.array([6, 5, 4, 3], np.int32)),
        "'layer_sizes' must be int64",
    ),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_each_contract_violation_is_refused(tmp_path, contract_arrays, write_npz, case):
    mutate, reason = VIOLATIONS[case]
    a = contract_arrays(name="m")
    mutate(a)
    with pytest.raises(ArtifactError) as e:
        load_model(write_npz(tmp_path, a, name="m"))
    assert reason in str(e.value)


def test_binary_and_regression_specific_checks(tmp_path, contract_arrays, write_npz):
    b = contract_arrays(name="b", task="binary", sizes=(6, 4, 2))
    with pytest.raises(ArtifactError, match="one output unit"):
        load_model(write_npz(tmp_path, b))
    r = contract_arrays(name="r", task="regression", sizes=(6, 4, 1))
    r["output_std"][0] = -1
    with pytest.raises(ArtifactError, match="output_std must be > 0"):
        load_model(write_npz(tmp_path, r))
    r = contract_arrays(name="r", task="regression", sizes=(6, 4, 1))
    del r["output_mean"]
    with pytest.raises(ArtifactError, match="missing key 'output_mean'"):
        load_model(write_npz(tmp_path, r))


class _Boom:
    """Unpickling this would create a file; the engine must never unpickle anything."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_files_are_refused_without_running_anything(tmp_path, contract_arrays):
    marker = tmp_path / "executed"
    # A plain pickle saved under a model's name.
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"W_0": _Boom(marker)}))
    with pytest.raises(ArtifactError, match="pickled"):
        load_model(tmp_path / "p.npz")
    # An .npz whose member is an object array (pickled inside the zip).
    a = contract_arrays(name="q")
    a["W_0"] = np.array([_Boom(marker)], dtype=object)
    with open(tmp_path / "q.npz", "wb") as f:
        np.savez(f, **a)
    with pytest.raises(ArtifactError, match="pickled"):
        load_model(tmp_path / "q.npz")
    assert not marker.exists()


def test_corrupt_and_odd_files_are_refused(tmp_path, contract_arrays, write_npz):
    good = write_npz(tmp_path, contract_arrays(name="good")).read_bytes()
    (tmp_path / "trunc.npz").write_bytes(good[: len(good) // 2])
    (tmp_path / "noise.npz").write_bytes(np.random.default_rng(0).bytes(500))
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as z:
        z.writestr("W_0.npy", b"not an array")
    for name in ("trunc", "noise", "empty", "single", "zip"):
        with pytest.raises(ArtifactError):
            load_model(tmp_path / f"{name}.npz")


def test_engine_records_failures_and_serves_the_rest(tmp_path, contract_arrays, write_npz):
    write_npz(tmp_path, contract_arrays(name="good"))
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    engine = Registry(tmp_path)
    assert not engine.snapshot.ready
    assert set(engine.snapshot.models) == {"good"}
    assert "bad" in engine.snapshot.failures
    assert engine.get("good").info.name == "good"
    with pytest.raises(ModelUnavailableError):
        engine.get("bad")
    with pytest.raises(NotFoundError):
        engine.get("nope")
    status = engine.status()
    assert status["bad"]["status"] == "failed"
    assert status["good"]["status"] == "ready"


def test_engine_ready_only_with_models(tmp_path, contract_arrays, write_npz):
    assert not Registry(tmp_path).snapshot.ready  # empty directory
    assert not Registry(tmp_path / "missing").snapshot.ready
    write_npz(tmp_path, contract_arrays(name="good"))
    assert Registry(tmp_path).snapshot.ready


def test_overflowing_output_is_a_client_error(tmp_path, contract_arrays, write_npz):
    a = contract_arrays(name="r", task="regression", sizes=(1, 4, 1), hidden=("relu",))
    a["input_min"], a["input_max"] = np.array(-np.inf, np.float32), np.array(np.inf, np.float32)
    a["W_0"][:] = 1e3
    a["W_1"][:] = 1e3
    model = load_model(write_npz(tmp_path, a))
    plane = DataPlane(Registry(tmp_path), DEFAULTS, draining=lambda: False)
    with pytest.raises(InvalidInputError) as e:
        plane.infer(model, np.array([[3e38], [1.0]], np.float32), "features")
    assert list(e.value.details) == ["features.0"]


@pytest.mark.parametrize("zeros", [0.0, 0.9, 1.0])
def test_batch1_matches_the_contract_on_sparse_inputs(tmp_path, contract_arrays, write_npz, zeros):
    """Batch 1 (its own layout, bias appended) on inputs that are mostly or all zeros."""
    a = contract_arrays(name="s", sizes=(40, 16, 8, 3), hidden=("relu", "sigmoid"))
    model = load_model(write_npz(tmp_path, a))
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (5, 40)).astype(np.float32)
    x[rng.random((5, 40)) < zeros] = 0
    want = reference_forward(a, x)
    for i in range(5):
        np.testing.assert_allclose(
            model.forward(x[i : i + 1]), want[i : i + 1], rtol=1e-5, atol=1e-6
        )


def test_required_models_that_are_missing_make_the_engine_not_ready(
    tmp_path, contract_arrays, write_npz
):
    write_npz(tmp_path, contract_arrays(name="good"))
    engine = Registry(tmp_path, required=("good", "mnist"))
    assert not engine.snapshot.ready
    assert engine.snapshot.failures["mnist"].startswith("missing")
    with pytest.raises(ModelUnavailableError):
        engine.get("mnist")
    assert Registry(tmp_path, required=("good",)).snapshot.ready


@pytest.mark.parametrize("weight", [18.0, 30.0])
def test_softmax_of_saturated_logits(tmp_path, contract_arrays, write_npz, weight):
    """Logits of ±72 and ±120: the softmax gives the exact probabilities, never an overflow."""
    a = contract_arrays(name="sat", sizes=(6, 5, 4, 3), hidden=("sigmoid", "sigmoid"))
    a["W_1"][:], a["b_1"][:] = 0, 50  # the last hidden layer outputs 1 everywhere
    a["W_2"][:] = np.array([weight, -weight, 0.0], np.float32)  # logits (4, -4, 0) * weight
    a["b_2"][:] = 0
    model = load_model(write_npz(tmp_path, a))
    x = np.random.default_rng(5).uniform(0, 255, (6, 6)).astype(np.float32)
    want = reference_forward(a, x)
    assert np.abs(np.log(want[:, 0] / want[:, 2])).max() > 3 * weight  # near the bound
    np.testing.assert_allclose(model.forward(x), want, rtol=1e-5, atol=1e-6)
    for i in range(len(x)):
        np.testing.assert_allclose(
            model.forward(x[i : i + 1]), want[i : i + 1], rtol=1e-5, atol=1e-6
        )
