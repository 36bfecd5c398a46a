"""Child process: in-process cost of each stage of one single-image JSON `/predict`, in µs.

`python -m bench.stages --model-dir DIR --body FILE` (1 BLAS thread, set by the parent). Stages
are timed through public entry points only (`create_app`, `load_model`), plus the generic steps
any JSON server performs; the two whole-app figures call each Flask app as WSGI with a prepared
environ (no socket, no gunicorn), so their difference is what our view adds to bare Flask.
"""

import argparse
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
from werkzeug.test import EnvironBuilder

from bench.peers.bare import create_app as bare_app
from bench.timing import emit, per_call_seconds, summary


def _wsgi_call(app: Callable, body: bytes) -> Callable[[], None]:
    """A function that POSTs `body` to `app`'s /predict through WSGI and drains the answer."""
    base = EnvironBuilder(
        path="/predict", method="POST", data=body, content_type="application/json"
    ).get_environ()

    def start_response(status: str, headers: list, exc_info=None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"/predict answered {status}")

    def call() -> None:
        environ = dict(base, **{"wsgi.input": io.BytesIO(body)})
        answer = app(environ, start_response)
        for _ in answer:
            pass
        getattr(answer, "close", lambda: None)()

    return call


def main() -> None:
    """Time every stage; emit medians in µs (and the raw block means)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from service import create_app
    from service.engine import load_model

    body = Path(args.body).read_bytes()
    images = orjson.loads(body)["images"]
    model = load_model(Path(args.model_dir) / "mnist.npz")
    x = np.asarray(images, dtype=np.float32)
    out = model.forward(x)
    answer = {"predictions": [{"label": int(out[0].argmax()), "probabilities": out[0]}]}
    stages = {
        "orjson.loads: body to Python lists": lambda: orjson.loads(body),
        "np.asarray: 784 Python ints to float32": lambda: np.asarray(images, dtype=np.float32),
        "engine forward, batch 1": lambda: model.forward(x),
        "orjson.dumps: the answer": lambda: orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY),
    }
    app = create_app({"MODEL_DIR": args.model_dir})
    protocol = app.extensions.get("mlpserve.v1")  # internal; the stage is skipped if it moves
    if hasattr(protocol, "predict_json"):
        stages["our view's work: V1.predict_json(body)"] = lambda: protocol.predict_json(body)
    stages["whole app, ours (WSGI call)"] = _wsgi_call(app, body)
    stages["whole app, bare Flask (WSGI call)"] = _wsgi_call(bare_app(), body)
    emit(
        {
            name: summary([1e6 * s for s in per_call_seconds(fn, args.calls, args.repeats)])
            for name, fn in stages.items()
        }
    )


if __name__ == "__main__":
    main()
