"""A JSON answer sent straight from ASGI middleware, before Django (body too large, no response
within the deadline, a rewritten peer address, /healthz answered first): the status, the body's
type and length, and whatever headers the caller adds."""

from __future__ import annotations


async def send_json(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
