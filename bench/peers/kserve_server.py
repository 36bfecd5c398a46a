"""KServe Python ModelServer peer: a custom `kserve.Model` serving the NumPy forward pass (V1, V2).

`python -m bench.peers.kserve_server --model_name mnist --model_path NPZ --http_port P --workers 2`
in the kserve venv. KServe binds REST to 0.0.0.0 unconditionally, so uvicorn's Config is wrapped
to bind 127.0.0.1 before kserve is imported (spawned workers re-import this module and get the
same wrap); gRPC is turned off by the caller with `--enable_grpc false`.
"""

import argparse

import numpy as np
import uvicorn

_config_init = uvicorn.Config.__init__


def _loopback_config_init(self, *args, **kwargs) -> None:
    kwargs["host"] = "127.0.0.1"
    _config_init(self, *args, **kwargs)


uvicorn.Config.__init__ = _loopback_config_init

import kserve  # noqa: E402  (must come after the loopback wrap)

from bench.peers.forward import NumpyMLP  # noqa: E402


class NumpyMLPModel(kserve.Model):
    """V1: `{"instances": [IMAGE, ...]}` -> `{"predictions": [{label, probabilities}]}`; V2:
    `POST /v2/models/NAME/infer` with one image tensor -> `label` and `probabilities`."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.mlp: NumpyMLP | None = None

    def load(self) -> bool:
        """Read the `.npz` once, at start-up."""
        self.mlp = NumpyMLP(self.path)
        self.ready = True
        return self.ready

    def predict(
        self, payload: dict | kserve.InferRequest, headers: dict | None = None
    ) -> dict | kserve.InferResponse:
        """V1: the forward pass on the request's instances. V2: on its first input tensor,
        answering `label` INT64 (n,) and `probabilities` FP32 (n, 10), as ours and MLServer do."""
        if isinstance(payload, dict):
            x = np.asarray(payload["instances"], dtype=np.float32)
            return {"predictions": self.mlp.predictions(x)}
        probs = self.mlp.probabilities(payload.inputs[0].as_numpy())
        labels = np.asarray(self.mlp.labels, dtype=np.int64)[probs.argmax(axis=1)]
        outputs = []
        for name, arr, datatype in (("label", labels, "INT64"), ("probabilities", probs, "FP32")):
            out = kserve.InferOutput(name, list(arr.shape), datatype)
            out.set_data_from_numpy(arr, binary_data=False)
            outputs.append(out)
        return kserve.InferResponse(payload.id or "", self.name, infer_outputs=outputs)


def main() -> None:
    """Parse KServe's own flags plus `--model_path`, load the model and serve."""
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    model = NumpyMLPModel(args.model_name, args.model_path)
    model.load()
    kserve.ModelServer().start([model])


if __name__ == "__main__":
    main()
