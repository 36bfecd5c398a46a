"""The Open Inference Protocol (V2) bodies as marshmallow schemas: the authority on the envelope.

Requests: :class:`InferenceRequest` (``inputs``, ``outputs``, ``id``, ``parameters``) decides what
a well-formed request is, field by field, and names every error by its path
(``inputs.0.shape.1``). :mod:`service.v2_tensors` accepts the common well-formed requests with a
cheaper hand check first and hands everything else to this schema, so its messages are the ones
clients see. Responses: the schemas the OpenAPI document (:mod:`service.openapi`) describes them
with. Tensor ``data`` is left to the tensor codec: a marshmallow field per element would cost more
than the model.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

DATATYPES = (
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
)  # fmt: skip
MAX_RANK = 8  # dimensions a tensor may declare


class StrictBool(fields.Boolean):
    """``true`` or ``false`` only (marshmallow's Boolean also takes ``1``, ``"yes"``, ...)."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class StrictInt(fields.Integer):
    """A JSON integer only (not ``true``, ``1.0`` or ``"1"``)."""

    def _validated(self, value: Any) -> int:
        if type(value) is not int:
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


_DATA_DOC = {
    "description": "The tensor's elements in row-major order, flat or nested: numbers "
    "(booleans for BOOL), or base64 strings of encoded image files for BYTES. Absent when the "
    "tensor travels in the binary part (parameters.binary_data_size).",
    "type": "array",
    "items": {},
}


class InputParameters(Schema):
    class Meta:
        unknown = INCLUDE

    binary_data_size = StrictInt(
        validate=validate.Range(min=0),
        metadata={"description": "Bytes of this tensor in the binary part of the body."},
    )


class RequestInput(Schema):
    """One input tensor: an image model takes ``images``, a features model ``features``."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, metadata={"example": "images"})
    shape = fields.List(
        StrictInt(validate=validate.Range(min=0)),
        required=True,
        validate=validate.Length(min=1, max=MAX_RANK),
        metadata={"example": [1, 784]},
    )
    datatype = fields.String(
        required=True, validate=validate.OneOf(DATATYPES), metadata={"example": "UINT8"}
    )
    parameters = fields.Nested(InputParameters)
    data = fields.Raw(metadata=_DATA_DOC)


class OutputParameters(Schema):
    class Meta:
        unknown = INCLUDE

    binary_data = StrictBool(
        metadata={"description": "Send this output in the binary part of the response."}
    )


class RequestOutput(Schema):
    """An output the client wants (all of them when ``outputs`` is absent)."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, metadata={"example": "label"})
    parameters = fields.Nested(OutputParameters)


class RequestParameters(Schema):
    class Meta:
        unknown = INCLUDE

    binary_data_output = StrictBool(
        metadata={"description": "Default of every output's binary_data."}
    )


class InferenceRequest(Schema):
    """``POST /v2/models/{name}/infer``: JSON, or JSON followed by the binary tensor data."""

    class Meta:
        unknown = RAISE

    id = fields.String(metadata={"description": "Echoed in the response."})
    model_name = fields.String(metadata={"description": "KServe's client sends it: the path's."})
    model_version = fields.String(metadata={"description": "If sent, the path's version."})
    parameters = fields.Nested(RequestParameters)
    inputs = fields.List(
        fields.Nested(RequestInput), required=True, validate=validate.Length(min=1, max=16)
    )
    outputs = fields.List(fields.Nested(RequestOutput), validate=validate.Length(max=16))


# -- responses ----------------------------------------------------------------------------------


class ResponseOutput(Schema):
    name = fields.String(required=True, metadata={"example": "label"})
    shape = fields.List(fields.Integer(), required=True, metadata={"example": [1]})
    datatype = fields.String(required=True, metadata={"example": "INT64"})
    parameters = fields.Dict(
        metadata={"description": "binary_data_size when the data is in the binary part."}
    )
    data = fields.List(
        fields.Raw(), metadata={"description": "Row-major elements (absent when binary)."}
    )


class InferenceResponse(Schema):
    model_name = fields.String(required=True, metadata={"example": "mnist"})
    model_version = fields.String(required=True, metadata={"example": "20261123T211500Z"})
    id = fields.String()
    outputs = fields.List(fields.Nested(ResponseOutput), required=True)


class ServerMetadata(Schema):
    name = fields.String(required=True, metadata={"example": "mlpserve"})
    version = fields.String(required=True, metadata={"example": "0.1.0"})
    extensions = fields.List(
        fields.String(), required=True, metadata={"example": ["binary_tensor_data"]}
    )


class TensorMetadata(Schema):
    name = fields.String(required=True)
    datatype = fields.String(required=True)
    shape = fields.List(fields.Integer(), required=True, metadata={"description": "-1: any"})


class ModelMetadata(Schema):
    name = fields.String(required=True, metadata={"example": "mnist"})
    versions = fields.List(fields.String(), required=True)
    platform = fields.String(required=True, metadata={"example": "mlpserve-numpy"})
    inputs = fields.List(fields.Nested(TensorMetadata), required=True)
    outputs = fields.List(fields.Nested(TensorMetadata), required=True)


class ServerLive(Schema):
    live = fields.Boolean(required=True)


class ServerReady(Schema):
    ready = fields.Boolean(required=True)


class ModelReady(Schema):
    name = fields.String(required=True)
    ready = fields.Boolean(required=True)
