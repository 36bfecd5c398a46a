"""The training loop: shuffled minibatches, validation every epoch, early stopping, EMA.

The loop sees an :class:`~training.model.MLP`, an optimizer with ``update(params, grads)`` and
arrays; it never knows which optimizer, activation or dataset it has.
"""

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from training.augment import RandomAffine, RandomShift
from training.config import TrainConfig, pen_probabilities
from training.ema import WeightAverage
from training.initializers import Random
from training.losses import LOSS_FUNCTIONS
from training.model import MLP
from training.optimizers import OPTIMIZERS, SGD, Adam
from training.pen import PenEffects
from training.schedules import ScheduleArgs, learning_rate


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; nothing is exported."""


@dataclass
class History:
    """Per-epoch curves and the epoch whose weights were kept."""

    rows: list[dict] = field(default_factory=list)  # one per epoch
    best_epoch: int = 0
    stopped_early: bool = False
    monitor: str = "val"  # the split measured after each epoch: "val", or "test" (report only)

    def column(self, key: str) -> list[float]:
        """One curve, e.g. ``"val_loss"``."""
        return [row[key] for row in self.rows]


def make_optimizer(config: TrainConfig) -> SGD | Adam:
    """The optimizer named by ``config.optimizer``, with its settings."""
    if config.optimizer == "sgd":
        return OPTIMIZERS["sgd"](config.lr, config.momentum, config.nesterov)
    return OPTIMIZERS["adam"](config.lr, config.beta1, config.beta2)


def evaluate(model: MLP, X: np.ndarray, T: np.ndarray, loss: str) -> tuple[float, float]:
    """Mean loss and accuracy (classifiers; NaN for regression) on preprocessed data.

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n, d)
    T : ndarray of shape (n, k)
        Targets as used in training (one-hot without smoothing, 0/1, or standardised values).
    loss : str
        Key of ``LOSS_FUNCTIONS``.
    """
    total, correct = 0.0, 0
    for start in range(0, len(X), 4096):
        logits = model.logits(X[start : start + 4096])  # (chunk, k)
        T_chunk = T[start : start + 4096]
        total += LOSS_FUNCTIONS[loss](logits, T_chunk) * len(logits)
        correct += _n_correct(logits, T_chunk, loss)
    accuracy = correct / len(X) if loss != "squared_error" else math.nan
    return total / len(X), accuracy


def _n_correct(logits: np.ndarray, T: np.ndarray, loss: str) -> int:
    """Correct predictions in a batch, from logits (argmax, or the sign for one sigmoid unit)."""
    if loss == "cross_entropy":
        return int(np.count_nonzero(logits.argmax(axis=1) == T.argmax(axis=1)))
    if loss == "binary_cross_entropy":
        return int(np.count_nonzero((logits[:, 0] > 0) == (T[:, 0] > 0.5)))
    return 0


def _clip(grads: list[np.ndarray], max_norm: float) -> None:
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm


def fit(
    model: MLP,
    X: np.ndarray,
    T: np.ndarray,
    X_val: np.ndarray,
    T_val: np.ndarray,
    config: TrainConfig,
    image_shape: tuple[int, int] | None = None,
    progress: bool = True,
    rng: Random | None = None,
    monitor: str = "val",
) -> History:
    """Train ``model`` in place and leave it holding the best weights seen on validation.

    With ``monitor="test"`` (no validation split) the set passed as ``X_val, T_val`` is the test
    set: it is measured after every epoch for the record and never chooses anything; the weights
    of the last epoch are kept.

    Parameters
    ----------
    model : MLP
    X : ndarray of shape (n, d), float32
        Preprocessed training inputs.
    T : ndarray of shape (n, k), float32
        Training targets (one-hot, possibly label-smoothed; 0/1; standardised values).
    X_val, T_val : ndarray
        Validation inputs and un-smoothed targets, for model selection and early stopping (the
        test set's with ``monitor="test"``).
    config : TrainConfig
    image_shape : (int, int), optional
        Height and width of image inputs; needed for ``shift``, ``rotate`` and ``scale``.
    progress : bool
        Show a tqdm bar with the running loss and accuracy.
    rng : numpy.random.Generator or numpy.random.RandomState, optional
        Draws the shuffles, dropout masks and augmentation; by default
        ``default_rng(config.seed + 1)``. The ``legacy`` stream passes the ``RandomState`` that
        drew the initial weights, so the shuffles continue its sequence.
    monitor : {"val", "test"}
        What ``X_val, T_val`` hold (see above).

    Returns
    -------
    History

    Raises
    ------
    TrainingDivergedError
        If a minibatch loss is not finite.
    """
    # Overflow in a diverging run must surface as a non-finite loss, not as a numpy warning.
    with np.errstate(over="ignore", invalid="ignore"):
        rng = np.random.default_rng(config.seed + 1) if rng is None else rng
        history = History(monitor=monitor)
        _fit(model, X, T, X_val, T_val, config, image_shape, progress, rng, history)
        return history


def _fit(
    model: MLP,
    X: np.ndarray,
    T: np.ndarray,
    X_val: np.ndarray,
    T_val: np.ndarray,
    config: TrainConfig,
    image_shape: tuple[int, int] | None,
    progress: bool,
    rng: Random,
    history: History,
) -> None:
    """The loop behind :func:`fit`; fills ``history``."""
    n, B = len(X), config.batch_size
    n_batches = math.ceil(n / B)
    classifier = config.loss != "squared_error"
    optimizer = make_optimizer(config)
    schedule = ScheduleArgs(config.epochs, config.step_every, config.gamma, config.min_lr_ratio)
    dropout = (config.dropout_input, config.dropout_hidden)
    augmenter = _augmenter(X, config, image_shape)
    ema = WeightAverage(model, config.ema) if config.ema else None
    # Minibatches are gathered into small preallocated buffers that stay in cache; only an
    # augmenter writes a whole epoch (augmented, in shuffled order) at once.
    X_epoch = np.empty_like(X) if augmenter else None  # (n, d)
    x_buf, t_buf = np.empty((B, X.shape[1]), X.dtype), np.empty((B, T.shape[1]), T.dtype)
    select = history.monitor == "val"  # otherwise the last epoch is kept
    best_score: tuple[float, ...] = (-math.inf,)
    best_params, waited = [p.copy() for p in model.params], 0
    bar = tqdm(total=config.epochs * n_batches, disable=not progress, file=sys.stderr, ncols=100)
    for epoch in range(config.epochs):
        started = time.perf_counter()
        order = rng.permutation(n)
        if augmenter:
            augmenter.take(order, rng, X_epoch)
        loss_sum, correct = 0.0, 0
        for b in range(n_batches):
            rows = order[b * B : (b + 1) * B]
            # np.take's default mode="raise" buffers the output: "clip" is 20x faster here
            tb = np.take(T, rows, axis=0, out=t_buf[: len(rows)], mode="clip")  # (B, k)
            if X_epoch is not None:
                xb = X_epoch[b * B : (b + 1) * B]  # (B, d)
            else:
                xb = np.take(X, rows, axis=0, out=x_buf[: len(rows)], mode="clip")
            optimizer.lr = learning_rate(
                config.schedule, config.lr, epoch + b / n_batches, config.warmup, schedule
            )
            model.forward_train(xb, dropout, rng)
            loss = LOSS_FUNCTIONS[config.loss](model.last_logits, tb)
            if not math.isfinite(loss):
                bar.close()
                raise TrainingDivergedError(
                    f"Loss became {loss} at epoch {epoch + 1}, batch {b + 1} "
                    f"(lr {optimizer.lr:.3g}); no model was written. Try a smaller lr."
                )
            scale = optimizer.grad_scale  # the gradients below are all times this
            grads = model.backward(tb, scale)
            if config.weight_decay:
                for gW, W in zip(grads[0::2], model.W, strict=True):
                    gW += (scale * config.weight_decay) * W
            if config.clip_norm:
                _clip(grads, config.clip_norm * abs(scale))
            optimizer.update(model.params, grads)
            if ema is not None:
                ema.update(model.params)
            loss_sum += loss * len(xb)
            if classifier:
                correct += _n_correct(model.last_logits, tb, config.loss)
            if b % 50 == 0 or b == n_batches - 1:
                bar.set_description(f"epoch {epoch + 1}/{config.epochs}", refresh=False)
                postfix = {"loss": f"{loss_sum / min(n, (b + 1) * B):.4f}"}
                if classifier:
                    postfix["acc"] = f"{correct / min(n, (b + 1) * B):.4f}"
                bar.set_postfix(postfix, refresh=False)
            bar.update(1)
        train_seconds = time.perf_counter() - started
        judged = ema.model if ema is not None else model
        val_loss, val_acc = evaluate(judged, X_val, T_val, config.loss)
        row = {
            "epoch": epoch + 1,
            "lr": optimizer.lr,
            "train_loss": loss_sum / n,
            "train_accuracy": correct / n if classifier else math.nan,
            f"{history.monitor}_loss": val_loss,
            f"{history.monitor}_accuracy": val_acc,
            "seconds": train_seconds,
        }
        history.rows.append(row)
        if progress:
            bar.write(_summary(row, history.monitor), file=sys.stderr)
        # higher validation accuracy wins, lower loss breaks ties (regression: loss alone)
        score = (val_acc, -val_loss) if classifier else (-val_loss,)
        if not select:
            history.best_epoch = epoch + 1
        elif score > best_score:
            best_score, history.best_epoch, waited = score, epoch + 1, 0
            for dst, src in zip(best_params, judged.params, strict=True):
                np.copyto(dst, src)
        else:
            waited += 1
            if config.patience and waited >= config.patience:
                history.stopped_early = True
                break
    bar.close()
    if select:
        model.set_params(best_params)
    elif ema is not None:
        model.set_params(ema.model.params)


def _augmenter(
    X: np.ndarray, config: TrainConfig, image_shape: tuple[int, int] | None
) -> RandomShift | RandomAffine | None:
    """The cheapest augmenter doing what the config asks: whole-pixel shifts or a full warp
    (affine and elastic) followed by pen and capture effects."""
    if image_shape is None:
        return None
    effects = PenEffects(image_shape, pen_probabilities(config))
    if config.rotate or config.scale or config.elastic or effects:
        return RandomAffine(
            X, image_shape, config.shift, config.rotate, config.scale, config.elastic, effects
        )
    return RandomShift(X, image_shape, config.shift) if config.shift else None


def _summary(row: dict, monitor: str) -> str:
    """One line per epoch for the log."""
    text = f"epoch {row['epoch']:3d}  train loss {row['train_loss']:.4f}"
    loss = row[f"{monitor}_loss"]
    if not math.isnan(row["train_accuracy"]):
        text += f" acc {row['train_accuracy']:.4f}  {monitor} loss {loss:.4f}"
        return text + f" acc {row[f'{monitor}_accuracy']:.4f}  {row['seconds']:.2f}s"
    return text + f"  {monitor} loss {loss:.5f}  {row['seconds']:.2f}s"
