"""Log lines (README → Observability). `LOG_FORMAT=json` writes one JSON object per line with
the time, level, logger, message, `event` (a countable name: every refusal or failure has
one), request id, user id and client IP of the request or socket the line belongs to. Tokens,
emails and card numbers are never in a line: messages carry ids, and the fields are only these.
The default console format stays one readable line per record."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid

from pythonjsonlogger.json import JsonFormatter

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("rdv_log_context", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def bind(**fields) -> None:
    """Add fields (request_id, user_id, ip) to every line logged from here on in this task/request."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    _context.set(current)


def bound() -> dict | None:
    """The fields bound here, to carry to another thread (config.db_threads)."""
    return _context.get()


@contextlib.contextmanager
def bound_to(fields: dict | None):
    """Within this block, log with `fields` (what bound() returned elsewhere)."""
    token = _context.set(fields)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts the bound fields and a default `event` on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        request = context.get("request")
        for key in ("request_id", "ip"):
            if not hasattr(record, key):
                setattr(record, key, context.get(key))
        if not hasattr(record, "user_id"):
            record.user_id = context.get("user_id") or _user_id_of(request)
        if not hasattr(record, "event"):
            record.event = None
        return True


def _user_id_of(request) -> str | None:
    """The request's user once something authenticated it (DRF sets request.user); never
    evaluated here (that would query the database from inside a log call)."""
    if request is None:
        return None
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped.__class__.__name__ == "object":  # an unevaluated SimpleLazyObject
        return None
    pk = getattr(wrapped, "pk", None)
    return str(pk) if pk is not None else None


class JsonLines(JsonFormatter):
    """python-json-logger with our fixed fields; nothing else a caller passes as extra."""

    FIELDS = ("event", "request_id", "user_id", "ip")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "asctime": "time"})
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, {})
        for key in list(log_record):
            if key not in {"time", "level", "logger", "message", "exc_info", "stack_info", *self.FIELDS}:
                del log_record[key]
        for key in self.FIELDS:
            value = getattr(record, key, None)
            log_record[key] = str(value) if value is not None else None


class ConsoleFormatter(logging.Formatter):
    """The readable line, with [event] when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        event = getattr(record, "event", None)
        return f"{line} [{event}]" if event else line


def request_id_or_new(given: str) -> str:
    """The proxy's X-Request-ID if it is sane (8–64 of A–Z a–z 0–9 . _ -), else a new one."""
    return given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Binds a request id (a sane X-Request-ID from our proxy, else a new one, echoed back),
    the client IP and, lazily, the user to the request's log lines."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from config.client_ip import request_ip

        request_id = request_id_or_new(request.headers.get(REQUEST_ID_HEADER, ""))
        token = _context.set({"request_id": request_id, "ip": request_ip(request), "request": request})
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
