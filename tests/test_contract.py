"""The one test that imports both sides: train a tiny model with ``training/``, export the ``.npz``,
load it with the service engine, and compare outputs with the training forward pass.

The engine's forward pass is a deliberate copy (with preprocessing, hidden sigmoids and the
regression de-standardisation folded into the weights at load); this guards the copy for every
task and every hidden activation.
"""

from __future__ import annotations

import numpy as np
import pytest

import training
from service import v1
from service.engine import load_model
from service.registry import Registry

CASES = {
    # name: (preset, overrides)
    "multiclass-relu": ("tiny", {"epochs": "2"}),
    "multiclass-sigmoid": ("tiny", {"epochs": "2", "activation": "sigmoid", "hidden": "16,8"}),
    "multiclass-leaky": ("tiny", {"epochs": "1", "activation": "leaky_relu"}),
    "binary-tanh": ("moons", {"epochs": "3", "patience": "0"}),
    "binary-sigmoid": ("moons", {"epochs": "3", "patience": "0", "activation": "sigmoid"}),
    "regression-tanh": ("regression", {"epochs": "5"}),
    "regression-relu": ("regression", {"epochs": "5", "activation": "relu"}),
}


def raw_inputs(artifact, n: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = artifact.input_range
    shape = (n, int(np.prod(artifact.input_shape)))
    if np.isfinite(lo) and np.isfinite(hi):
        x = rng.uniform(lo, hi, shape)
        x[0], x[1] = lo, hi  # the ends of the range too
        return x.astype(np.float32)
    return (3 * rng.standard_normal(shape)).astype(np.float32)


@pytest.mark.parametrize("case", list(CASES))
def test_engine_matches_the_training_forward_pass(tmp_path, case):
    preset, overrides = CASES[case]
    config = training.make_config(preset, {"name": "m", **overrides})
    result = training.run(config, tmp_path, progress=False)
    artifact = result.artifact
    model = load_model(result.npz_path)

    assert model.task == artifact.task
    assert model.info.version == artifact.version
    assert model.info.layer_sizes == tuple(artifact.model.layer_sizes)
    assert model.info.input_shape == tuple(artifact.input_shape)

    x = raw_inputs(artifact, 64, np.random.default_rng(0))
    want = artifact.output(x)
    np.testing.assert_allclose(model.forward(x), want, rtol=1e-4, atol=1e-5)
    for i in range(3):  # the batch-1 path
        np.testing.assert_allclose(
            model.forward(x[i : i + 1]), want[i : i + 1], rtol=1e-4, atol=1e-5
        )

    # The exported file read back by training itself describes the same network.
    again = training.load(result.npz_path)
    np.testing.assert_allclose(again.output(x), want, rtol=1e-6, atol=1e-7)

    # What the service would answer.
    predictions = v1.predictions(model, model.forward(x[:4]))
    if artifact.task == "multiclass":
        labels = [int(artifact.labels[k]) for k in want[:4].argmax(axis=1)]
        assert [p["label"] for p in predictions] == labels
    elif artifact.task == "binary":
        labels = [int(artifact.labels[int(p >= 0.5)]) for p in want[:4, 0]]
        assert [p["label"] for p in predictions] == labels
    else:
        np.testing.assert_allclose([p["value"] for p in predictions], want[:4, 0], rtol=1e-4)


def test_the_shipped_models_load_in_the_engine():
    """Every artifact in models/ passes the service's validation and self-test."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "models"
    if not any(folder.glob("*.npz")):
        pytest.skip("no shipped models yet")
    snapshot = Registry(folder).snapshot
    assert snapshot.failures == {}
    assert snapshot.ready


def _imported_packages(folder: str) -> set[str]:
    """Top-level packages imported anywhere in ``folder/*.py`` (read with ast, not run)."""
    import ast
    from pathlib import Path

    found = set()
    for path in (Path(__file__).resolve().parent.parent / folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_the_two_sides_stay_apart():
    """training/ never imports the service or its web stack; service/ never imports training/.
    Code that needs both (tests, the robustness report) lives outside both packages."""
    assert not _imported_packages("training") & {"service", "flask", "marshmallow", "robustness"}
    assert not _imported_packages("service") & {"training", "robustness"}
