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


class ServiceUnavailable(ServiceError):
    """A dependency (PostgreSQL, Redis) did not answer in time: retry after `retry_after` s. What
    the attempt wrote may have committed; the operations are idempotent, so a retry answers with it."""

    status = 503
    code = "service_unavailable"
    message = "The service is briefly unavailable; try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kwargs):
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, retry_after=self.retry_after, **kwargs)


# --- Errors raised outside our code: the same body ------------------------------------------

# The code and message of a bare HTTP status (a Django 404 page, a 405, an overloaded database).
STATUS_ERRORS = {
    400: ("bad_request", "The request was not understood."),
    401: ("not_authenticated", NotAuthenticated.message),
    403: ("forbidden", Forbidden.message),
    404: ("not_found", NotFound.message),
    405: ("method_not_allowed", "That method is not allowed here."),
    406: ("not_acceptable", "No acceptable representation."),
    409: ("conflict", Conflict.message),
    410: ("gone", Gone.message),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("rate_limited", RateLimited.message),
    500: ("server_error", "Something went wrong on our side."),
    503: ("service_unavailable", "The service is briefly unavailable; try again shortly."),
}


def error_body(status: int, message: str | None = None) -> dict:
    """{"error": {"code", "message"}} for a status that no ServiceError produced."""
    code, default = STATUS_ERRORS.get(status, ("server_error" if status >= 500 else "error", "The request failed."))
    return {"error": {"code": code, "message": message or default}}


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    """What a dependency that refuses connections raises: the database (Django's wrappers of the
    driver's errors), a connection pool that is exhausted, Redis."""
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    errors: list[type[BaseException]] = [OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError]
    try:
        from psycopg_pool import PoolTimeout, TooManyRequests
    except ImportError:
        pass
    else:
        errors += [PoolTimeout, TooManyRequests]
    return tuple(errors)


UNAVAILABLE = _unavailable_errors()
