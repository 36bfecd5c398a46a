"""The multilayer perceptron: forward pass, cached training forward and backpropagation.

Layer ``i`` computes ``a = h @ W_i + b_i`` then ``h' = f_i(a)``; the last ``f`` is the output
activation (``identity``, ``sigmoid`` or ``softmax``). For the three output/loss pairs allowed
(see ``training.losses.OUTPUT_LOSS_PAIRS``) the gradient of the mean loss with respect to the
output logits is ``(output - Y) / n``, so backprop starts from that fused delta.
"""

import itertools
from collections.abc import Sequence

import numpy as np

from training.activations import DERIVATIVES, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from training.initializers import INITIALIZERS, Random


class _Workspace:
    """Preallocated arrays for one batch size, reused by every training step of that size."""

    def __init__(self, n: int, layer_sizes: Sequence[int], dtype: np.dtype, dropout: bool):
        widths = layer_sizes[1:]
        self.a = [np.empty((n, w), dtype) for w in widths]  # post-activations, (n, w_i)
        self.delta = [np.empty((n, w), dtype) for w in widths]  # dE/da, (n, w_i)
        self.logits = np.empty((n, widths[-1]), dtype)
        # dropout: masks and dropped copies of the input and of every hidden layer
        sizes = layer_sizes[:-1] if dropout else []
        self.rand = [np.empty((n, w), dtype) for w in sizes]
        self.keep = [np.empty((n, w), bool) for w in sizes]
        self.mask = [np.empty((n, w), dtype) for w in sizes]
        self.dropped = [np.empty((n, w), dtype) for w in sizes]


class MLP:
    """A fully connected network with any number of hidden layers.

    Parameters
    ----------
    layer_sizes : sequence of int
        Widths from input to output, e.g. ``[784, 512, 512, 10]`` (``L + 1`` entries).
    activations : sequence of str
        ``L`` names: a hidden activation after each hidden layer, the output activation last.
    weights, biases : list of ndarray
        ``W_i`` of shape (layer_sizes[i], layer_sizes[i+1]) and ``b_i`` of shape
        (layer_sizes[i+1],). Use :meth:`initialise` to draw them.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activations: Sequence[str],
        weights: list[np.ndarray],
        biases: list[np.ndarray],
    ):
        self.layer_sizes = [int(s) for s in layer_sizes]
        self.activations = list(activations)
        self.W = weights
        self.b = biases
        self.dtype = weights[0].dtype
        self._workspaces: dict[tuple[int, bool], _Workspace] = {}
        self._ws: _Workspace | None = None
        self._inputs: list[np.ndarray] = []
        self._hidden: list[np.ndarray] = []
        self._dropout = False
        self._drop_hidden = False
        self._grads = [np.empty_like(p) for p in self.params]

    @classmethod
    def initialise(
        cls,
        layer_sizes: Sequence[int],
        activations: Sequence[str],
        init: str,
        rng: Random,
        dtype: type = np.float32,
    ) -> "MLP":
        """Draw a new network's weights with the initialiser named ``init``.

        Parameters
        ----------
        layer_sizes, activations
            As for the constructor.
        init : {"he", "xavier", "randn"}
            Weight initialiser; biases start at zero.
        rng : numpy.random.Generator or numpy.random.RandomState
            Source of randomness (fixes the initial weights for a given seed); the layers draw
            from it in order, input layer first.
        dtype : numpy float type
            ``float32`` for training, ``float64`` for gradient checks.

        Returns
        -------
        MLP
        """
        draw = INITIALIZERS[init]
        weights, biases = [], []
        for n_in, n_out in itertools.pairwise(layer_sizes):
            weights.append(draw(rng, n_in, n_out).astype(dtype))
            biases.append(np.zeros(n_out, dtype))
        return cls(layer_sizes, activations, weights, biases)

    @property
    def params(self) -> list[np.ndarray]:
        """``[W_0, b_0, W_1, b_1, ...]``: the arrays an optimizer updates in place."""
        return [p for pair in zip(self.W, self.b, strict=True) for p in pair]

    @property
    def n_params(self) -> int:
        """Number of weights and biases."""
        return sum(p.size for p in self.params)

    def copy(self) -> "MLP":
        """A new network with copies of the weights."""
        return MLP(
            self.layer_sizes,
            self.activations,
            [W.copy() for W in self.W],
            [b.copy() for b in self.b],
        )

    def set_params(self, params: Sequence[np.ndarray]) -> None:
        """Copy ``params`` (ordered as :attr:`params`) into this network's arrays."""
        for dst, src in zip(self.params, params, strict=True):
            np.copyto(dst, src)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Output-layer pre-activations for preprocessed inputs ``X`` of shape (n, layer_sizes[0]).

        Returns
        -------
        ndarray of shape (n, layer_sizes[-1])
        """
        h = np.asarray(X, dtype=self.dtype)
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            a = h @ W  # (n, w_{i+1})
            a += b
            h = a if i == last else HIDDEN_ACTIVATIONS[self.activations[i]](a)
        return h

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Network output for preprocessed inputs ``X`` of shape (n, layer_sizes[0]).

        Returns
        -------
        ndarray of shape (n, layer_sizes[-1])
            Class probabilities (softmax), the positive-class probability (sigmoid) or the
            standardised regression prediction (identity).
        """
        return OUTPUT_ACTIVATIONS[self.activations[-1]](self.logits(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class index (classifiers, shape (n,)) or the output itself (regression, (n, k))."""
        out = self.forward(X)
        if self.activations[-1] == "softmax":
            return out.argmax(axis=1)
        if self.activations[-1] == "sigmoid":
            return (out[:, 0] > 0.5).astype(np.int64)
        return out

    def forward_train(
        self,
        X: np.ndarray,
        dropout: tuple[float, float] = (0.0, 0.0),
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Forward pass that caches what :meth:`backward` needs, in preallocated buffers.

        Parameters
        ----------
        X : ndarray of shape (n, layer_sizes[0])
            Preprocessed inputs, in this network's dtype.
        dropout : (float, float)
            Inverted-dropout rates of the input and of every hidden layer.
        rng : numpy.random.Generator, optional
            Draws the dropout masks; required when a rate is positive.

        Returns
        -------
        ndarray of shape (n, layer_sizes[-1])
            The output; overwritten by the next call. Logits are kept in :attr:`last_logits`.
        """
        p_in, p_hidden = dropout
        self._dropout = p_in > 0 or p_hidden > 0
        self._drop_hidden = p_hidden > 0
        key = (X.shape[0], self._dropout)
        if key not in self._workspaces:
            self._workspaces[key] = _Workspace(X.shape[0], self.layer_sizes, self.dtype, key[1])
        ws = self._ws = self._workspaces[key]
        h = self._drop(X, 0, p_in, rng) if self._dropout else X
        self._inputs = [h]  # input of each layer, (n, w_i)
        self._hidden = []  # post-activation, pre-dropout, of each hidden layer
        last = len(self.W) - 1
        for i in range(last):
            a = ws.a[i]
            np.matmul(h, self.W[i], out=a)  # (n, w_{i+1})
            a += self.b[i]
            HIDDEN_ACTIVATIONS[self.activations[i]](a)
            self._hidden.append(a)
            h = self._drop(a, i + 1, p_hidden, rng) if self._dropout else a
            self._inputs.append(h)
        a = ws.a[last]
        np.matmul(h, self.W[last], out=a)  # (n, k)
        a += self.b[last]
        np.copyto(ws.logits, a)
        return OUTPUT_ACTIVATIONS[self.activations[last]](a)

    @property
    def last_logits(self) -> np.ndarray:
        """Output logits of the last :meth:`forward_train` call, shape (n, layer_sizes[-1])."""
        assert self._ws is not None, "call forward_train first"
        return self._ws.logits

    def _drop(self, h: np.ndarray, i: int, p: float, rng: np.random.Generator | None) -> np.ndarray:
        """Inverted dropout of layer-input ``i``: zero a fraction ``p``, scale the rest."""
        ws = self._ws
        assert ws is not None
        if p <= 0:
            return h
        assert rng is not None, "dropout needs an rng"
        rng.random(out=ws.rand[i], dtype=ws.rand[i].dtype)
        np.greater_equal(ws.rand[i], p, out=ws.keep[i])
        np.multiply(ws.keep[i], 1.0 / (1.0 - p), out=ws.mask[i])
        return np.multiply(h, ws.mask[i], out=ws.dropped[i])

    def backward(self, Y: np.ndarray, scale: float = 1.0) -> list[np.ndarray]:
        """Gradients of the mean loss for targets ``Y`` after :meth:`forward_train`.

        Parameters
        ----------
        Y : ndarray of shape (n, layer_sizes[-1])
            One-hot (or smoothed) class targets, 0/1 targets or regression targets.
        scale : float
            Multiplies every gradient (an optimizer's ``grad_scale``); backprop is linear in the
            output delta, so scaling that small array scales them all at no cost.

        Returns
        -------
        list of ndarray
            ``[dW_0, db_0, dW_1, db_1, ...]`` aligned with :attr:`params`; the arrays are reused
            (overwritten) by the next call.
        """
        ws = self._ws
        assert ws is not None, "call forward_train first"
        last = len(self.W) - 1
        delta = ws.delta[last]
        np.subtract(ws.a[last], Y, out=delta)  # fused output delta, (n, k)
        delta *= scale / Y.shape[0]
        for i in range(last, -1, -1):
            gW, gb = self._grads[2 * i], self._grads[2 * i + 1]
            np.matmul(self._inputs[i].T, delta, out=gW)  # (w_i, w_{i+1})
            # A column sum, not ones @ delta: BLAS would be ~8 us a layer faster (about 3 % of an
            # mnist-seed epoch) but rounds differently from the reference's delta.sum(axis=0).
            np.sum(delta, axis=0, out=gb)  # (w_{i+1},)
            if i == 0:
                break
            prev = ws.delta[i - 1]
            np.matmul(delta, self.W[i].T, out=prev)  # (n, w_i)
            if self._drop_hidden:
                prev *= ws.mask[i]
            DERIVATIVES[self.activations[i - 1]](self._hidden[i - 1], prev)
            delta = prev
        return self._grads
