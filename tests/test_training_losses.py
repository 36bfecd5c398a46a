"""Hand-worked loss values, activations, and extreme logits."""

import math

import numpy as np
import pytest

from training.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from training.losses import binary_cross_entropy, cross_entropy, logsumexp, squared_error
from training.model import MLP


def test_cross_entropy_hand_worked() -> None:
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    Y = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    row0 = math.log(math.e + math.e**2 + math.e**3) - 3.0  # 0.40760596
    row1 = math.log(3.0)
    assert cross_entropy(a, Y) == pytest.approx((row0 + row1) / 2, rel=1e-12)
    assert row0 == pytest.approx(0.40760596, abs=1e-8)


def test_cross_entropy_soft_targets() -> None:
    a = np.array([[0.0, math.log(3.0)]])  # softmax = (1/4, 3/4)
    Y = np.array([[0.5, 0.5]])
    assert cross_entropy(a, Y) == pytest.approx(-0.5 * math.log(0.25) - 0.5 * math.log(0.75))


def test_binary_cross_entropy_hand_worked() -> None:
    a = np.array([[0.0], [2.0], [-1.0]])
    Y = np.array([[1.0], [1.0], [1.0]])
    expected = (math.log(2) + math.log(1 + math.exp(-2)) + math.log(1 + math.e)) / 3
    assert binary_cross_entropy(a, Y) == pytest.approx(expected, rel=1e-12)
    assert binary_cross_entropy(np.array([[2.0]]), np.array([[0.0]])) == pytest.approx(
        math.log(1 + math.exp(2))
    )


def test_squared_error_hand_worked() -> None:
    a = np.array([[1.0, 2.0], [0.0, 0.0]])
    Y = np.array([[0.0, 0.0], [0.0, 1.0]])
    assert squared_error(a, Y) == pytest.approx((0.5 * 5 + 0.5 * 1) / 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_give_finite_losses(dtype) -> None:
    a = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype)
    Y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype)
    assert cross_entropy(a, Y) == pytest.approx((2e4 + (1e4 + math.log(2) + 1e4)) / 2, rel=1e-6)
    np.testing.assert_allclose(logsumexp(a), [1e4, 1e4 + math.log(2)], rtol=1e-6)
    b = np.array([[1e4], [-1e4]], dtype)
    assert binary_cross_entropy(b, np.array([[0.0], [1.0]], dtype)) == pytest.approx(1e4)
    assert binary_cross_entropy(b, np.array([[1.0], [0.0]], dtype)) == pytest.approx(0.0)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_extreme_logits_give_finite_outputs_and_gradients(output: str) -> None:
    k = 3 if output == "softmax" else 1
    W = [np.array([[1e4] * k, [-1e4] * k], np.float32)]
    model = MLP([2, k], [output], W, [np.zeros(k, np.float32)])
    X = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    out = model.forward_train(X)
    assert np.all(np.isfinite(out))
    assert np.all((out >= 0) & (out <= 1))
    Y = np.zeros_like(out)
    assert all(np.all(np.isfinite(g)) for g in model.backward(Y))


def test_activations_values() -> None:
    a = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(HIDDEN_ACTIVATIONS["relu"](a.copy()), [0, 0, 3])
    np.testing.assert_allclose(HIDDEN_ACTIVATIONS["leaky_relu"](a.copy()), [-0.02, 0, 3])
    np.testing.assert_allclose(HIDDEN_ACTIVATIONS["tanh"](a.copy()), np.tanh(a))
    np.testing.assert_allclose(HIDDEN_ACTIVATIONS["sigmoid"](a.copy()), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(
        HIDDEN_ACTIVATIONS["sigmoid"](np.array([-1e4, 1e4], np.float32)), [0, 1], atol=1e-30
    )
    s = OUTPUT_ACTIVATIONS["softmax"](np.array([[0.0, math.log(3.0)]]))
    np.testing.assert_allclose(s, [[0.25, 0.75]])
