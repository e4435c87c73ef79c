"""GET /healthz answered at the front of the ASGI stack, before Django.

A load balancer polls /healthz on every ASGI process and takes out of service one that answers
late; the process it polls may be busy with a burst of WebSocket handshakes and sign-ins. Every
await in an answer is one more turn of the event loop, and while the loop is busy a turn lasts
as long as the whole burst's ready callbacks: through Django an answer takes a dozen (the
request_started/finished signals, each sync middleware and the view handed to a thread and
back, the response deadline's task). Here it takes one: the checks (config.health.run_checks,
the same as the Django view's, with the same bounds) run on a thread of their own, and the
answer is the view's (config.views.healthz: the same body, status, headers, request id and
request metrics). Anything else (another method, another path) goes on to Django."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from config.health import report_for
from config.logs import REQUEST_ID_HEADER, request_id_or_new
from config.metrics import count_request, is_metrics_token

PATH = "/healthz"
_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")


def _header(scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _given_token(scope) -> str:
    """METRICS_TOKEN as /metrics reads it: a bearer token, else ?token=."""
    header = _header(scope, b"authorization")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[-1]


class HealthFirst:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = request_id_or_new(_header(scope, REQUEST_ID_HEADER.lower().encode()))
        loop = asyncio.get_running_loop()
        status, report = await loop.run_in_executor(_threads, report_for, is_metrics_token(_given_token(scope)))
        body = json.dumps(report).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"max-age=0, no-cache, no-store, must-revalidate, private"),
            (b"x-content-type-options", b"nosniff"),
            (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        count_request("healthz", "GET", status, time.perf_counter() - started)
