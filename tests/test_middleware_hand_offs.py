"""Under ASGI a request's whole middleware chain runs on one thread: the event loop hands it to a
thread once for the chain (config.middleware.OneThreadForTheChain, last in MIDDLEWARE), the
sync view runs on that same thread, and the only other hand-offs are Django's own (the
request_started/finished signals, the response's close). Each hand-off waits for a turn of
the event loop, which a burst of sockets makes long."""

import asyncio

from asgiref import sync
from django.core.handlers.asgi import ASGIHandler


def handed_to_a_thread(path: str, monkeypatch) -> tuple[int, int]:
    """(status, sync_to_async hand-offs) of one GET through Django's ASGI handler."""
    count = [0]
    real = sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        count[0] += 1
        return await real(self, *args, **kwargs)

    app = ASGIHandler()
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }

    async def one():
        sent, received = [], []

        async def receive():
            if received:
                await asyncio.Future()  # no disconnect until the answer is sent
            received.append(True)
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"]

    asyncio.run(one())  # the first request loads the URL conf and the views
    monkeypatch.setattr(sync.SyncToAsync, "__call__", counting)
    status = asyncio.run(one())
    return status, count[0]


def test_a_request_is_handed_to_a_thread_once_for_its_whole_middleware_chain(monkeypatch):
    status, hand_offs = handed_to_a_thread("/api/asyncapi.json", monkeypatch)
    assert status == 200
    # The chain and the view (1 each), request_started's and request_finished's receivers, the
    # response's close. Without the sync-only last middleware: 15.
    assert hand_offs <= 5, hand_offs
