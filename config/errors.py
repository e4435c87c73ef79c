"""Domain errors raised by services and selectors; the API maps them, never the reverse."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a client can act on: a stable `code`, an HTTP `status`, a human `message`,
    optional per-field messages and extra fields for the body (e.g. ban_status)."""

    status = 400
    code = "invalid"
    message = "The request was refused."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None, **extra):
        self.message = message or self.message
        if code:
            self.code = code
        self.fields = fields or {}
        self.extra = extra
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message, **self.extra}
        if self.fields:
            body["fields"] = self.fields
        return body


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotAuthenticated(ServiceError):
    status = 401
    code = "not_authenticated"
    message = "Authentication credentials were not provided or are not valid."


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"
    message = "You may not do that."


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(ServiceError):
    status = 409
    code = "conflict"
    message = "That conflicts with the current state."


class Gone(ServiceError):
    status = 410
    code = "gone"
    message = "That no longer exists."


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"
    message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs):
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, retry_after=self.retry_after, **kwargs)
