"""The v1 answers as marshmallow schemas, for the OpenAPI document (:mod:`service.openapi`).

v1 writes its answers with orjson straight from dicts (a schema dump per request would cost more
than the model); these schemas describe those dicts, and ``tests/test_service_openapi.py`` checks
live answers against the generated document, so a change to one without the other fails a test.
"""

from __future__ import annotations

from marshmallow import Schema, fields

_PROBS = {"description": "multiclass: one probability per label, in `labels` order"}


class Error(Schema):
    """Every error of either protocol."""

    error = fields.String(required=True, metadata={"example": "unknown model 'nope'"})
    details = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"example": {"model": ["Known models: mnist, regression."]}},
    )


class Prediction(Schema):
    label = fields.Integer(metadata={"description": "classifiers", "example": 7})
    probabilities = fields.List(fields.Float(), metadata=_PROBS)
    probability = fields.Float(metadata={"description": "binary: probability of label 1"})
    input = fields.List(
        fields.List(fields.Integer()),
        metadata={"description": "with ?return_input=1: the 28x28 image the model saw, 0-255"},
    )
    value = fields.Raw(
        metadata={
            "description": "regression: the value (a list when the model has several outputs)",
            "oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}],
        }
    )


class PredictResponse(Schema):
    model = fields.String(required=True, metadata={"example": "mnist"})
    model_version = fields.String(required=True, metadata={"example": "20261123T211500Z"})
    predictions = fields.List(fields.Nested(Prediction), required=True)


class Health(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ModelStatus(Schema):
    status = fields.String(required=True, metadata={"example": "ready"})
    version = fields.String()
    refused = fields.String(metadata={"description": "why a newer file was not swapped in"})
    reason = fields.String(metadata={"description": "why the model is not serving"})


class Ready(Schema):
    status = fields.String(required=True, metadata={"example": "ready"})
    models = fields.Dict(keys=fields.String(), values=fields.Nested(ModelStatus), required=True)
    reasons = fields.Dict(keys=fields.String(), values=fields.String())


class ModelInput(Schema):
    kind = fields.String(required=True, metadata={"example": "image"})
    field = fields.String(required=True, metadata={"example": "images"})
    shape = fields.List(fields.Integer(), required=True, metadata={"example": [28, 28]})
    min = fields.Float(required=True, allow_none=True, metadata={"description": "null: none"})
    max = fields.Float(required=True, allow_none=True, metadata={"description": "null: none"})


class ModelInfo(Schema):
    name = fields.String(required=True, metadata={"example": "mnist"})
    version = fields.String(required=True, metadata={"example": "20261123T211500Z"})
    task = fields.String(required=True, metadata={"example": "multiclass"})
    input = fields.Nested(ModelInput, required=True)
    layer_sizes = fields.List(fields.Integer(), required=True)
    activations = fields.List(fields.String(), required=True)
    sha256 = fields.String(required=True)
    labels = fields.List(fields.Integer())
    metrics = fields.Dict(required=True, allow_none=True, metadata={"description": "model card"})
    card_error = fields.String()


class ModelList(Schema):
    models = fields.List(fields.Nested(ModelInfo), required=True)
    unavailable = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    refused = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
