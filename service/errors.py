"""One error hierarchy for the whole service.

Every failure a client can cause is a :class:`ServiceError` carrying an HTTP status, a one-line
message and optional per-field details (``{"images.3": ["reason"]}``). The engine raises them, the
request layer raises them, and one renderer (``service.wsgi.error_reply``) writes them as
``{"error": message, "details": {...}}``. This module imports neither Flask nor NumPy.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``status`` is the HTTP status the single handler answers with."""

    status = 500

    def __init__(self, message: str, details: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers: dict[str, str] = {}  # extra response headers (Retry-After)

    def to_dict(self) -> dict:
        return {"error": self.message, "details": self.details}


class BadRequestError(ServiceError):
    """Malformed JSON, an undecodable image, a malformed multipart body."""

    status = 400


class NotFoundError(ServiceError):
    """Unknown model or route."""

    status = 404


class PayloadTooLargeError(ServiceError):
    status = 413


class UnsupportedMediaTypeError(ServiceError):
    status = 415


class InvalidInputError(ServiceError):
    """The request parsed but its content is wrong: shape, type, range, batch size, pixel cap."""

    status = 422


class ModelUnavailableError(ServiceError):
    """The model's artifact exists but failed to load; a server-side state, never client input."""

    status = 503


class ServiceUnavailableError(ServiceError):
    """The server could not do the work in time (a request's deadline passed while it waited for
    the CPU); a retry after ``retry_after`` seconds may succeed."""

    status = 503

    def __init__(self, message: str, details: dict[str, list[str]], retry_after: int):
        super().__init__(message, details)
        self.headers["Retry-After"] = str(retry_after)


class ArtifactError(Exception):
    """A model file breaks the ``.npz`` contract. Recorded as the model's not-ready reason."""
