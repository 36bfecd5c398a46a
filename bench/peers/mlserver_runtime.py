"""Seldon MLServer peer: a custom runtime serving the NumPy forward pass over the V2 protocol.

The model folder's `model-settings.json` names `bench.peers.mlserver_runtime.NumpyMLPRuntime` and
gives the `.npz` as `parameters.uri` (written by `bench.http.servers`). Requests carry one INT32
tensor `images` of shape (n, 784); the response has `label` (n,) and `probabilities` (n, 10).
"""

import numpy as np
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

from bench.peers.forward import NumpyMLP


class NumpyMLPRuntime(MLModel):
    """Loads the `.npz` once; predicts labels and probabilities for a batch of images."""

    async def load(self) -> bool:
        """Read the model file named by the settings' `parameters.uri`."""
        self._mlp = NumpyMLP(self.settings.parameters.uri)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Decode the first input tensor, run the forward pass, encode labels and probabilities."""
        x = NumpyCodec.decode_input(payload.inputs[0])
        probs = self._mlp.probabilities(x)
        labels = np.asarray(self._mlp.labels, dtype=np.int64)[probs.argmax(axis=1)]
        return InferenceResponse(
            model_name=self.name,
            outputs=[
                NumpyCodec.encode_output("label", labels),
                NumpyCodec.encode_output("probabilities", probs),
            ],
        )
