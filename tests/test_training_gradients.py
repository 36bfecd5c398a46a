"""Backpropagation against central differences, in float64, for every pairing the model allows."""

import itertools

import numpy as np
import pytest

from training.activations import HIDDEN_ACTIVATIONS
from training.losses import LOSS_FUNCTIONS, OUTPUT_LOSS_PAIRS
from training.model import MLP


def _problem(sizes: list[int], hidden: str, output: str, seed: int = 0):
    """A float64 network, inputs and matching targets for one output/loss pair."""
    rng = np.random.default_rng(seed)
    activations = [hidden] * (len(sizes) - 2) + [output]
    model = MLP.initialise(sizes, activations, "xavier", rng, dtype=np.float64)
    for b in model.b:  # non-zero biases, so their gradients are exercised too
        b[:] = 0.1 * rng.standard_normal(b.shape)
    n, k = 7, sizes[-1]
    X = rng.standard_normal((n, sizes[0]))
    if output == "softmax":
        Y = np.eye(k)[rng.integers(0, k, n)]
    elif output == "sigmoid":
        Y = rng.integers(0, 2, (n, 1)).astype(np.float64)
    else:
        Y = rng.standard_normal((n, k))
    return model, X, Y


def _numeric_grads(model: MLP, loss_fn, eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of ``loss_fn()`` with respect to every parameter entry."""
    grads = []
    for p in model.params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            saved = p[idx]
            p[idx] = saved + eps
            up = loss_fn()
            p[idx] = saved - eps
            down = loss_fn()
            p[idx] = saved
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def _check(model: MLP, X: np.ndarray, Y: np.ndarray, dropout=(0.0, 0.0)) -> None:
    loss = LOSS_FUNCTIONS[OUTPUT_LOSS_PAIRS[model.activations[-1]]]

    def forward_loss() -> float:
        model.forward_train(X, dropout, np.random.default_rng(5))  # same masks every call
        return loss(model.last_logits, Y)

    forward_loss()
    analytic = [g.copy() for g in model.backward(Y)]
    numeric = _numeric_grads(model, forward_loss)
    for i, (a, n) in enumerate(zip(analytic, numeric, strict=True)):
        assert a.shape == n.shape
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7, err_msg=f"param {i}")


@pytest.mark.parametrize(
    ("hidden", "output"), list(itertools.product(HIDDEN_ACTIVATIONS, OUTPUT_LOSS_PAIRS))
)
def test_gradient_every_activation_and_output(hidden: str, output: str) -> None:
    k = 1 if output == "sigmoid" else 3
    model, X, Y = _problem([4, 5, k], hidden, output)
    _check(model, X, Y)


@pytest.mark.parametrize("output", list(OUTPUT_LOSS_PAIRS))
def test_gradient_three_hidden_layers(output: str) -> None:
    k = 1 if output == "sigmoid" else 3
    model, X, Y = _problem([5, 6, 4, 3, k], "tanh", output, seed=1)
    model.activations[1] = "sigmoid"  # mix activations across layers
    _check(model, X, Y)


def test_gradient_with_dropout() -> None:
    model, X, Y = _problem([6, 8, 7, 4], "relu", "softmax", seed=2)
    _check(model, X, Y, dropout=(0.2, 0.3))


def test_forward_train_matches_forward() -> None:
    model, X, _ = _problem([4, 6, 5, 3], "leaky_relu", "softmax", seed=3)
    np.testing.assert_allclose(model.forward_train(X), model.forward(X), rtol=1e-12)
    np.testing.assert_allclose(model.forward(X).sum(axis=1), 1.0, rtol=1e-12)


def test_backward_returns_every_parameter() -> None:
    model, X, Y = _problem([4, 6, 5, 3], "relu", "softmax")
    model.forward_train(X)
    grads = model.backward(Y)
    assert [g.shape for g in grads] == [p.shape for p in model.params]
    assert len(grads) == 2 * (len(model.layer_sizes) - 1)


def test_backward_scale_multiplies_every_gradient() -> None:
    model, X, Y = _problem([4, 6, 5, 3], "sigmoid", "softmax")
    model.forward_train(X)
    plain = [g.copy() for g in model.backward(Y)]
    model.forward_train(X)
    for g, want in zip(model.backward(Y, -0.3), plain, strict=True):
        np.testing.assert_allclose(g, -0.3 * want, rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_one_sgd_step_of_fit_with_weight_decay_and_clipping(momentum: float) -> None:
    """fit's step (gradients scaled for the optimizer) equals the textbook one:
    p - lr * clip(grad + wd * W) for plain SGD; the same first step with momentum."""
    from training.presets import make_config
    from training.train import fit

    model, X, Y = _problem([4, 6, 5, 3], "tanh", "softmax", seed=2)
    lr, wd, clip = 0.1, 0.05, 0.2
    start = [p.copy() for p in model.params]
    model.forward_train(X)
    grads = [g.copy() for g in model.backward(Y)]
    for gW, W in zip(grads[0::2], model.W, strict=True):
        gW += wd * W
    norm = np.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    assert norm > clip  # the clipping is exercised
    want = [p - lr * g * (clip / norm) for p, g in zip(start, grads, strict=True)]
    overrides = {
        "optimizer": "sgd",
        "lr": str(lr),
        "momentum": str(momentum),
        "weight_decay": str(wd),
        "clip_norm": str(clip),
        "batch_size": str(len(X)),
        "epochs": "1",
    }
    fit(model, X, Y, X, Y, make_config("tiny", overrides), progress=False)
    for p, w in zip(model.params, want, strict=True):
        np.testing.assert_allclose(p, w, rtol=1e-10, atol=1e-12)
