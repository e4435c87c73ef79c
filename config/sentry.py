"""Error reports to Sentry (SENTRY_DSN; README → Observability), with no personal data.

sentry-sdk with its Django, Celery and asyncio integrations. send_default_pii=False keeps
users' emails, IPs, cookies and request bodies out; scrub() then removes what could still
carry a secret: headers other than a few harmless ones, query strings, request data, local
variables, and any email address, bearer token or 10-digit card number left in a message.

Only unexpected server errors are events: a client that hangs up is not one. Django's ASGI
handler listens for the disconnect in a task of its own, which ends every request by raising
RequestAborted once the client goes; sentry-sdk's asyncio integration reported each one (one
event per HTTP request). before_send drops those (EXPECTED_EXCEPTIONS)."""

from __future__ import annotations

import re

SAFE_HEADERS = {"content-type", "content-length", "accept", "user-agent", "host", "x-request-id"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
BEARER = re.compile(r"(?i)(bearer|token)[\s:=\"']+[\w.~+/-]{8,}=*")
CARD = re.compile(r"\b\d{10,19}\b")
FILTERED = "[Filtered]"


def scrub_text(text):
    if not isinstance(text, str):
        return text
    text = EMAIL.sub(FILTERED, text)
    text = BEARER.sub(lambda m: m.group(1) + " " + FILTERED, text)
    return CARD.sub(FILTERED, text)


def _scrub_deep(value):
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_deep(v) for v in value]
    return value


def scrub(event, hint=None):
    """before_send / before_send_transaction: the event without anything personal."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
        for key in ("cookies", "data", "query_string", "env"):
            request.pop(key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": str(user["id"])} if user.get("id") is not None else {}
    for exception in (event.get("exception") or {}).get("values") or []:
        exception["value"] = scrub_text(exception.get("value"))
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    if "logentry" in event and isinstance(event["logentry"], dict):
        event["logentry"] = _scrub_deep(event["logentry"])
    if "message" in event:
        event["message"] = scrub_text(event["message"])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict):
        breadcrumbs["values"] = [_scrub_deep(b) for b in breadcrumbs.get("values") or []]
    event.pop("extra", None)
    return event


def expected_exceptions() -> tuple[type[BaseException], ...]:
    """Exceptions that are how a request ends when its client goes away, not a fault of ours."""
    from django.core.exceptions import RequestAborted

    expected: list[type[BaseException]] = [RequestAborted]
    try:
        from uvicorn.protocols.utils import ClientDisconnected
    except ImportError:  # another server
        pass
    else:
        expected.append(ClientDisconnected)
    return tuple(expected)


def before_send(event, hint=None):
    """No event for a client that went away; every other event scrubbed (scrub)."""
    exc_info = (hint or {}).get("exc_info")
    if exc_info and isinstance(exc_info[1], expected_exceptions()):
        return None
    return scrub(event, hint)


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float = 0.0, **options) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        # asyncio's integration patches the running loop: added by AsyncioOnFirstCall (config/asgi.py).
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,
        before_send_transaction=scrub,
        traces_sample_rate=traces_sample_rate,
        **options,
    )


class AsyncioOnFirstCall:
    """ASGI wrapper: enables sentry-sdk's asyncio integration on the server's loop once it runs
    (settings are read before there is a loop). Does nothing when SENTRY_DSN is unset."""

    def __init__(self, app):
        self.app = app
        self.done = False

    async def __call__(self, scope, receive, send):
        if not self.done:
            self.done = True
            from django.conf import settings

            if settings.SENTRY_DSN:
                from sentry_sdk.integrations.asyncio import enable_asyncio_integration

                enable_asyncio_integration()
        return await self.app(scope, receive, send)
