"""The protocol-neutral dataplane: live, ready, model lookup, input checks, inference on arrays.

Every protocol (``v1``, the page, V2 and whatever comes next) parses its own wire format, then
calls this one layer, then writes the arrays back in its own format: so the same request gets the
same checks, the same limits and the same answer whichever protocol carries it. Nothing here
imports Flask or knows how a prediction is written. Inputs are named as the protocols name them:
``images`` for an image model, ``features`` for a features model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .budget import Limits
from .engine import Model
from .errors import InvalidInputError
from .images import INK_MIN, images_to_mnist
from .registry import Registry

FIELD = {"image": "images", "features": "features"}  # a model's input kind -> its input's name
MAX_DETAILS = 10  # per-item error entries reported at most, to keep error bodies small


class DataPlane:
    """What every protocol needs, over one :class:`Registry`.

    Parameters
    ----------
    registry : Registry
    config : mapping
        ``MAX_BATCH``, ``DEFAULT_IMAGE_MODEL``, ``DEFAULT_FEATURES_MODEL``, and the upload caps
        ``MAX_IMAGE_PIXELS``, ``MAX_REQUEST_PIXELS``, ``REQUEST_CPU_SECONDS``,
        ``REQUEST_DEADLINE_SECONDS`` (:class:`~service.budget.Limits`).
    draining : callable
        True once the process is shutting down: readiness then fails, liveness does not.
    """

    def __init__(self, registry: Registry, config: Mapping[str, Any], draining: Callable[[], bool]):
        self.registry = registry
        self.max_batch: int = config["MAX_BATCH"]
        self.image_limits = Limits(
            config["MAX_IMAGE_PIXELS"],
            config["MAX_REQUEST_PIXELS"],
            config["REQUEST_CPU_SECONDS"],
            config["REQUEST_DEADLINE_SECONDS"],
        )
        self.default_model = {
            "image": config["DEFAULT_IMAGE_MODEL"],
            "features": config["DEFAULT_FEATURES_MODEL"],
        }
        self.draining = draining

    # -- health -------------------------------------------------------------------------------

    def live(self) -> bool:
        """The process answers. Never looks at the models (a liveness probe must not restart a
        process whose model file is bad: that is readiness's business)."""
        return True

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Ready to serve: every model file loaded, at least one, and not shutting down.

        Returns ``(ready, reasons)``, the reasons keyed by model name (``*`` for the process).
        """
        if self.draining():
            return False, {"*": "shutting down: draining before exit"}
        snap = self.registry.snapshot
        return snap.ready, dict(snap.failures)

    # -- models -------------------------------------------------------------------------------

    def model(self, name: str | None, kind: str, version: str | None = None) -> Model:
        """The model serving ``name`` (the default one for inputs of ``kind`` if None).

        Raises :class:`InvalidInputError` if that model takes another kind of input.
        """
        model = self.registry.get(name or self.default_model[kind], version)
        if model.info.input_kind != kind:
            want, got = FIELD[model.info.input_kind], FIELD[kind]
            raise InvalidInputError(
                f"model {model.info.name!r} takes {want!r}",
                {got: [f"Model {model.info.name!r} takes '{want}', not '{got}'."]},
            )
        return model

    # -- inputs -------------------------------------------------------------------------------

    def check_batch_size(self, n: int, field: str) -> None:
        if n > self.max_batch:
            raise InvalidInputError(
                "batch too large", {field: [f"Holds {n} items; the maximum is {self.max_batch}."]}
            )

    def decode_images(self, blobs: list[bytes], model: Model, field: str) -> np.ndarray:
        """Encoded image files -> float32 (n, 784) MNIST-style inputs for a 28x28 model.

        The request's work is bounded before anything is decoded (:mod:`service.budget`):
        per-image and per-request pixel caps from the headers, a CPU limit and a deadline.
        """
        self.check_batch_size(len(blobs), field)
        if model.info.input_shape != (28, 28):
            raise InvalidInputError(
                f"model {model.info.name!r} does not take 28x28 images",
                {"model": [f"Model {model.info.name!r} takes inputs of shape "
                           f"{model.info.input_shape}."]},
            )  # fmt: skip
        return images_to_mnist(blobs, self.image_limits, field).reshape(len(blobs), 784)

    # -- inference ----------------------------------------------------------------------------

    def infer(self, model: Model, x: np.ndarray, field: str) -> np.ndarray:
        """Run ``model`` on a checked batch.

        Parameters
        ----------
        x : float32 array, shape (n, input_size)
            Raw inputs within the model's range (the protocols check shape and range).

        Returns
        -------
        float32 array, shape (n, output_size)

        Raises
        ------
        InvalidInputError
            An image without ink (as a blank upload is refused), or an unbounded input that
            drives the output to infinity or NaN.
        """
        if model.info.input_kind == "image":
            _refuse_blank(x, field)
        if model.bounded:
            return model.forward(x)
        with np.errstate(all="ignore"):
            out = model.forward(x)
        finite = np.isfinite(out).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)[:MAX_DETAILS].tolist()
            raise InvalidInputError(
                f"{field}: values too large, the model's output is not finite",
                {f"{field}.{i}": ["Values too large: the output overflows."] for i in bad},
            )
        return out


def _refuse_blank(x: np.ndarray, field: str) -> None:
    """An image whose values span less than the ink threshold holds no digit: answer it as a
    blank upload is answered (422), rather than with a confident label for nothing."""
    blank = (x.max(axis=1) - x.min(axis=1)) < INK_MIN
    if blank.any():
        bad = np.flatnonzero(blank)[:MAX_DETAILS].tolist()
        raise InvalidInputError(
            "no digit in the image",
            {f"{field}.{i}": ["The image is blank: no ink."] for i in bad},
        )
