"""A bound on every HTTP answer: a request whose response has not started HTTP_DEADLINE_SECONDS
after its body arrived gets a 503 `service_unavailable` with Retry-After, in our JSON error body.

Why here and not in Django: a PostgreSQL that is frozen (not down: its sockets accept and never
answer) holds a view's query for as long as it is frozen, and Django runs every sync view of a
process on one thread, so the requests behind it wait too. The connect, pool and statement
timeouts (config/settings.py) bound what they can; this bounds the rest. At the deadline the
request's task is cancelled: a request still queued for the thread never runs (no write lands
after its 503), and one already running finishes on its thread with its answer dropped. What
such a request committed is the committed result a retry finds: the writes are idempotent
(client ids, compare-and-swap transitions)."""

from __future__ import annotations

import asyncio
import json
import logging

from django.conf import settings

from config.asgi_json import send_json
from config.errors import error_body

logger = logging.getLogger(__name__)


def unavailable_body() -> bytes:
    return json.dumps(error_body(503)).encode()


class ResponseDeadline:
    def __init__(self, app, seconds: float | None = None):
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send):
        seconds = self.seconds if self.seconds is not None else settings.HTTP_DEADLINE_SECONDS
        if scope["type"] != "http" or not seconds:
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        body_in = loop.create_future()  # the clock starts once the body has arrived (slow uploads)
        started = False
        timed_out = False

        async def receive_and_note():
            message = await receive()
            if (message["type"] != "http.request" or not message.get("more_body")) and not body_in.done():
                body_in.set_result(None)
            return message

        async def send_unless_late(message):
            nonlocal started
            if timed_out:
                return  # the client had its 503
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive_and_note, send_unless_late))
        try:
            await asyncio.wait({task, body_in}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=seconds)
            if task.done() or started:
                return await task
        except asyncio.CancelledError:
            task.cancel()
            raise
        timed_out = True
        task.cancel()
        logger.warning("%s %s: no response within %s s, answered 503", scope.get("method"), scope.get("path"), seconds)
        retry_after = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER).encode()
        await send_json(send, 503, unavailable_body(), [(b"retry-after", retry_after)])
