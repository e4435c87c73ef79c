"""The floor for bench/connect_burst.py: a bare ASGI WebSocket app under the same uvicorn
settings (2 workers, no per-message deflate) that accepts, answers the first frame with an
`ack` for `auth`, and then only echoes an `ack` per frame. What a connect costs with no
Django, Channels, Redis or PostgreSQL: the handshake and JSON frames alone.

    .venv/bin/uvicorn bench.ws_floor:app --port 18014 --workers 2 --ws-per-message-deflate false
    make bench ARGS="connect_burst --url ws://127.0.0.1:18014 --floor --sockets 2000"
"""

import json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            frame = json.loads(message.get("text") or "{}")
            ack = {"type": "ack", "id": frame.get("id"), "for": frame.get("type")}
            if frame.get("type") == "auth":
                ack.update(user={"id": "floor", "name": "floor"}, session=0)
            await send({"type": "websocket.send", "text": json.dumps(ack)})
        elif message["type"] == "websocket.disconnect":
            return
