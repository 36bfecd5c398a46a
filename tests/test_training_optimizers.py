"""One optimizer step against its closed form; learning-rate schedules."""

import math

import numpy as np
import pytest

from training.optimizers import SGD, Adam
from training.schedules import ScheduleArgs, learning_rate

P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.5, 0.1, -4.0])
G2 = np.array([-1.0, 0.3, 2.0])


def _steps(optimizer, grads) -> np.ndarray:
    p = P0.copy()
    for g in grads:
        optimizer.update([p], [g * optimizer.grad_scale])  # what the training loop hands over
    return p


def test_plain_sgd() -> None:
    np.testing.assert_allclose(_steps(SGD(0.1), [G1]), P0 - 0.1 * G1)


def test_momentum_two_steps() -> None:
    v1 = -0.1 * G1
    v2 = 0.9 * v1 - 0.1 * G2
    np.testing.assert_allclose(_steps(SGD(0.1, momentum=0.9), [G1, G2]), P0 + v1 + v2)


def test_nesterov_two_steps() -> None:
    v1 = -0.1 * G1
    p1 = P0 + 0.9 * v1 - 0.1 * G1
    v2 = 0.9 * v1 - 0.1 * G2
    p2 = p1 + 0.9 * v2 - 0.1 * G2
    np.testing.assert_allclose(_steps(SGD(0.1, momentum=0.9, nesterov=True), [G1, G2]), p2)


def test_adam_first_step_is_lr_times_sign() -> None:
    # after one step the bias-corrected m / sqrt(v) is g / |g|
    p = _steps(Adam(0.01, eps=0.0), [G1])
    np.testing.assert_allclose(p, P0 - 0.01 * np.sign(G1))


def test_adam_two_steps_closed_form() -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, v = P0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate([G1, G2], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(_steps(Adam(lr, b1, b2, eps), [G1, G2]), p, rtol=1e-12)


def test_optimizers_update_in_place() -> None:
    for optimizer in (SGD(0.1), SGD(0.1, 0.9), Adam(0.1)):
        p = P0.copy()
        ref = p
        optimizer.update([p], [G1 * optimizer.grad_scale])
        assert ref is p and not np.allclose(p, P0)


ARGS = ScheduleArgs(epochs=10, step_every=3, gamma=0.5, min_ratio=0.1)


def test_schedules() -> None:
    assert learning_rate("constant", 0.2, 7.5, 0.0, ARGS) == 0.2
    assert learning_rate("cosine", 1.0, 0.0, 0.0, ARGS) == pytest.approx(1.0)
    assert learning_rate("cosine", 1.0, 5.0, 0.0, ARGS) == pytest.approx(0.55)
    assert learning_rate("cosine", 1.0, 10.0, 0.0, ARGS) == pytest.approx(0.1)
    assert learning_rate("step", 1.0, 2.9, 0.0, ARGS) == 1.0
    assert learning_rate("step", 1.0, 6.0, 0.0, ARGS) == 0.25


def test_warmup_is_linear() -> None:
    assert learning_rate("constant", 1.0, 0.5, 2.0, ARGS) == pytest.approx(0.25, abs=1e-3)
    assert learning_rate("constant", 1.0, 2.0, 2.0, ARGS) == 1.0


def test_weight_average_closed_form() -> None:
    from training.ema import WeightAverage
    from training.model import MLP

    model = MLP([1, 1], ["identity"], [np.array([[0.0]])], [np.array([0.0])])
    average = WeightAverage(model, decay=0.5)
    model.W[0][:] = 4.0
    average.update(model.params)  # t=1: decay min(0.5, 2/11) = 2/11
    np.testing.assert_allclose(average.model.W[0], 4.0 * 9 / 11)
    average.update(model.params)  # t=2: decay min(0.5, 3/12) = 1/4
    np.testing.assert_allclose(average.model.W[0], 4.0 - (4.0 * 2 / 11) / 4)
    assert model.W[0][0, 0] == 4.0  # the trained weights are untouched


def test_gradient_clipping_bounds_the_global_norm() -> None:
    from training.train import _clip

    grads = [np.array([3.0, 0.0]), np.array([[4.0]])]  # global norm 5
    _clip(grads, 1.0)
    np.testing.assert_allclose(grads[0], [0.6, 0.0])
    np.testing.assert_allclose(grads[1], [[0.8]])
    _clip(grads, 10.0)  # already inside the bound: unchanged
    np.testing.assert_allclose(grads[1], [[0.8]])


def test_weight_decay_shrinks_weights(tmp_path) -> None:
    from training import make_config, run

    norms = []
    for decay in ("0", "0.05"):
        config = make_config("tiny", {"weight_decay": decay, "optimizer": "sgd", "lr": "0.1"})
        model = run(config, tmp_path / decay, progress=False).artifact.model
        norms.append(sum(float(np.sum(W * W)) for W in model.W))
    assert norms[1] < norms[0]
