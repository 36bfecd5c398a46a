"""The bare ceiling: a Flask app whose `/predict` returns a constant without reading the body.

Run under the same gunicorn settings as our service (`bench.peers.bare:create_app()`), it measures
what gunicorn + Flask cost with no work at all; our service is rated as a fraction of it.
"""

from flask import Flask, Response

# A body the size and shape of one real prediction, serialised once.
CONSTANT = (
    b'{"model":"mnist","model_version":"0","predictions":[{"label":0,"probabilities":'
    b"[1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0]}]}"
)


def create_app() -> Flask:
    """A Flask app with `POST /predict` (constant answer) and `GET /ready`."""
    app = Flask(__name__)

    @app.post("/predict")
    def predict() -> Response:
        return Response(CONSTANT, mimetype="application/json")

    @app.get("/ready")
    def ready() -> Response:
        return Response(b'{"status":"ready"}', mimetype="application/json")

    return app
