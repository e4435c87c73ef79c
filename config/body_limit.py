"""Request body caps, enforced in front of Django (which reads a whole body before any view runs).

A declared Content-Length above the path's cap is refused before one byte of the body is read;
a chunked (or lying) body is cut off as soon as the bytes received pass the cap. Both answer 413
with our JSON error body and close the connection. The caps per path are in BODY_LIMITS
(README → Security)."""

from __future__ import annotations

import json
import logging
import re

from django.conf import settings

from accounts.media import SELFIE_MAX_BYTES, VIDEO_MAX_BYTES
from chat.services.photos import PHOTO_MAX_BYTES
from config.asgi_json import send_json

logger = logging.getLogger(__name__)

# multipart/form-data wraps the file in boundaries and part headers: a little room on top.
MULTIPART_OVERHEAD = 64 * 1024


def body_limits() -> dict[str, int]:
    """path → largest accepted body in bytes; every other path gets REQUEST_BODY_MAX_BYTES."""
    return {
        "/api/me/selfie": SELFIE_MAX_BYTES + MULTIPART_OVERHEAD,
        "/api/me/video": VIDEO_MAX_BYTES + MULTIPART_OVERHEAD,
    }


# Paths with an id in them: (pattern, cap). A photo in a text call (POST /api/calls/<room>/photos).
PATTERN_LIMITS = ((re.compile(r"^/api/calls/[^/]+/photos$"), PHOTO_MAX_BYTES + MULTIPART_OVERHEAD),)


def body_limit(path: str) -> int:
    path = path.rstrip("/") or "/"
    for pattern, limit in PATTERN_LIMITS:
        if pattern.match(path):
            return limit
    return body_limits().get(path, settings.REQUEST_BODY_MAX_BYTES)


def too_large_body(limit: int) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": "too_large",
                "message": f"The request body is larger than {limit} bytes, the limit here.",
                "max_bytes": limit,
            }
        }
    ).encode()


async def send_too_large(send, limit: int) -> None:
    await send_json(send, 413, too_large_body(limit), [(b"connection", b"close")])


class BodySizeLimit:
    """ASGI middleware for HTTP: see the module docstring."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = next((v for k, v in scope.get("headers", []) if k.lower() == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            logger.warning(
                "refused a %s-byte body for %s (limit %s)",
                int(declared),
                scope["path"],
                limit,
                extra={"event": "body.refused"},
            )
            await send_too_large(send, limit)
            return

        received = 0
        refused = False
        started = False

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    logger.warning(
                        "cut off a body past %s bytes for %s", limit, scope["path"], extra={"event": "body.refused"}
                    )
                    if not started:
                        await send_too_large(send, limit)
                    # Django treats a disconnect while reading the body as an aborted request
                    # and sends nothing more.
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message):
            nonlocal started
            if refused:
                return  # our 413 went out already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
