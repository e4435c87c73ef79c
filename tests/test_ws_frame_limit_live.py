"""The server's own WebSocket frame limit is the protocol's largest frame (64 KB), wherever
uvicorn is started: a bigger frame closes the socket with 1009 from its header, before the
server reads (buffers) it and before the socket has authenticated."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat.protocol import MAX_FRAME_BYTES

pytestmark = pytest.mark.django_db(transaction=True)
MESSAGE_TOO_BIG = 1009


def frame_of(size: int) -> str:
    """A JSON text frame of exactly `size` bytes (a ping with a field the schema refuses)."""
    assert size > 100
    bare = json.dumps({"type": "ping", "pad": ""})
    return json.dumps({"type": "ping", "pad": "x" * (size - len(bare))})


async def answer_to(url: str, text: str):
    async with connect(url, open_timeout=8, close_timeout=1, max_size=None) as ws:
        await ws.send(text)
        try:
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def raw_upgrade(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    sock.sendall(
        f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_frame_over_64_kb_closes_the_socket_with_1009_and_one_at_the_limit_is_read(live_stack):
    stack = live_stack("asgi")
    at_limit = asyncio.run(answer_to(stack.ws_url, frame_of(MAX_FRAME_BYTES)))
    over = asyncio.run(answer_to(stack.ws_url, frame_of(MAX_FRAME_BYTES + 1)))

    # Read by the consumer, which answers a first frame that is not `auth` by closing politely.
    assert (at_limit["type"], at_limit["reason"]) == ("closing", "not_authenticated")
    assert over == MESSAGE_TOO_BIG


def test_a_16_mb_frame_is_refused_from_its_header_without_its_body_being_sent(live_stack):
    stack = live_stack("asgi")
    sock = raw_upgrade(stack.port)
    started = time.monotonic()
    # FIN + text opcode; masked, 64-bit length 16 MiB; the mask; and no payload at all.
    sock.sendall(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 16 * 1024 * 1024) + os.urandom(4))

    reply = sock.recv(4)
    took = time.monotonic() - started
    sock.close()

    assert reply[:1] == b"\x88"  # a close frame, at once: the server did not wait for the 16 MB
    assert struct.unpack("!H", reply[2:4])[0] == MESSAGE_TOO_BIG
    assert took < 2
