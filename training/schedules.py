"""Learning-rate schedules: name -> function of training progress.

Each schedule maps ``progress`` (epochs done, fractional, from 0 to ``epochs``) to a multiplier
of the base learning rate; a linear warm-up over the first ``warmup`` epochs multiplies it again.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleArgs:
    """What every schedule may read: the run length and the step-decay settings."""

    epochs: int
    step_every: int  # epochs between step decays
    gamma: float  # step decay factor
    min_ratio: float  # floor of the cosine decay, as a fraction of the base rate


def constant(progress: float, args: ScheduleArgs) -> float:
    """Always 1."""
    return 1.0


def cosine(progress: float, args: ScheduleArgs) -> float:
    """Half a cosine from 1 down to ``min_ratio`` at the last epoch."""
    frac = min(progress / args.epochs, 1.0)
    return args.min_ratio + (1.0 - args.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * frac))


def step(progress: float, args: ScheduleArgs) -> float:
    """``gamma ** (completed epochs // step_every)``."""
    return args.gamma ** int(progress // args.step_every)


SCHEDULES: dict[str, Callable[[float, ScheduleArgs], float]] = {
    "constant": constant,
    "cosine": cosine,
    "step": step,
}


def learning_rate(
    name: str, base_lr: float, progress: float, warmup: float, args: ScheduleArgs
) -> float:
    """Learning rate after ``progress`` epochs.

    Parameters
    ----------
    name : {"constant", "cosine", "step"}
    base_lr : float
    progress : float
        Epochs completed so far (fractional within an epoch).
    warmup : float
        Length of the linear warm-up in epochs (0 for none).
    args : ScheduleArgs

    Returns
    -------
    float
    """
    lr = base_lr * SCHEDULES[name](progress, args)
    if warmup > 0 and progress < warmup:
        lr *= (progress + 1e-3) / warmup
    return lr
