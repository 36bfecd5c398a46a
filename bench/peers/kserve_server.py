"""KServe Python ModelServer peer: a custom `kserve.Model` serving the NumPy forward pass (V1).

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
    """V1 predictor: `{"instances": [IMAGE, ...]}` -> `{"predictions": [{label, probabilities}]}`"""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.mlp: NumpyMLP | None = None

    def load(self) -> bool:
        """Read the `.npz` once, at start-up."""
        self.mlp = NumpyMLP(self.path)
        self.ready = True
        return self.ready

    def predict(self, payload: dict, headers: dict | None = None) -> dict:
        """Run the forward pass on the request's instances."""
        x = np.asarray(payload["instances"], dtype=np.float32)
        return {"predictions": self.mlp.predictions(x)}


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
