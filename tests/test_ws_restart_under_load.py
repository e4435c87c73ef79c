"""Restart under load (issue 14): two ASGI servers side by side on one database and Redis, as
`make run`'s workers are; one gets SIGTERM with many sockets on it. Its clients reconnect to
the other with a jittered backoff (as static/rdv/app.js does), every call resumes for both
members with the messages it had, and nothing is lost."""

from __future__ import annotations

import asyncio
import json
import random
import signal

import pytest
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.services.sessions import start_session
from chat.models import ActiveRoom
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOMS = 15  # 30 sockets in calls
IDLE = 30  # and 30 idle ones
TIMEOUT = 15


class Client:
    def __init__(self, user_id: str, token: str):
        self.user_id, self.token = user_id, token
        self.ws = None
        self.frames: asyncio.Queue = asyncio.Queue()
        self.reader: asyncio.Task | None = None
        self.close_code = None

    async def open(self, url: str) -> dict:
        self.ws = await connect(url, open_timeout=TIMEOUT, close_timeout=2)
        self.frames = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())
        return await self.request({"type": "auth", "token": self.token, "since": 0}, "auth")

    async def _read(self):
        try:
            async for raw in self.ws:
                await self.frames.put(json.loads(raw))
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
        await self.frames.put({"type": "_closed"})

    async def next(self, kind: str, **match) -> dict:
        while True:
            frame = await asyncio.wait_for(self.frames.get(), TIMEOUT)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            assert frame["type"] != "_closed" or kind == "_closed", f"closed while waiting for {kind}"

    async def request(self, message: dict, request_id: str) -> dict:
        await self.ws.send(json.dumps({**message, "id": request_id}))
        frame = await self.next("ack", id=request_id)
        return frame


def _room_states(room_ids) -> list[tuple]:
    try:
        fields = ("pk", "status", "user_1_connected", "user_2_connected")
        return list(ActiveRoom.objects.filter(pk__in=room_ids).values_list(*fields))
    finally:
        connection.close()  # this thread's own connection, before the test database is dropped


async def scenario(server_a, server_b, users) -> dict:
    clients = [Client(uid, token) for uid, token in users]
    await asyncio.gather(*(c.open(server_a.ws_url) for c in clients))
    rooms = {}
    for n in range(ROOMS):
        a, b = clients[2 * n], clients[2 * n + 1]
        await a.request({"type": "presence.set", "available": True}, "p")
        await b.request({"type": "presence.set", "available": True}, "p")
        invite = await a.request({"type": "call.invite", "to": b.user_id, "mode": "text", "seconds": 600}, "i")
        await b.next("call.incoming")
        room = (await b.request({"type": "call.accept", "invite": invite["invite"], "seconds": 600}, "c"))["room"]
        sent = await a.request({"type": "chat.message", "room": room, "client_id": f"m{n}", "text": f"hi {n}"}, "m")
        rooms[room] = (a, b, sent["message_id"])

    server_a.kill("asgi", signal.SIGTERM)  # one worker goes; its sockets close
    await asyncio.gather(*(c.next("_closed") for c in clients))

    async def come_back(client: Client) -> dict:
        await asyncio.sleep(random.uniform(0.1, 2.0))  # jittered, as the web client does
        return await client.open(server_b.ws_url)

    acks = await asyncio.gather(*(come_back(c) for c in clients))
    resumed = {}
    for room, (a, b, message_id) in rooms.items():
        for member in (a, b):
            resume = await member.next("room.resume", room=room)
            resumed.setdefault(room, []).append([m["message_id"] for m in resume["messages"]])
        assert resumed[room] == [[message_id], [message_id]], (room, resumed[room])
    # Read while every socket is still open: closing them (below) starts each room's grace.
    states = await asyncio.to_thread(_room_states, list(rooms))
    for c in clients:
        await c.ws.close()
    return {"acks": acks, "rooms": states, "close_codes": {c.close_code for c in clients}}


def test_sigterm_of_one_asgi_server_clients_reconnect_to_the_other_and_calls_resume(live_stack):
    server_a, server_b = live_stack("asgi"), live_stack("asgi")
    people = [UserFactory(name=f"Restart {n}") for n in range(2 * ROOMS + IDLE)]
    users = [(str(u.pk), start_session(u, ip="127.0.0.1")) for u in people]

    result = asyncio.run(scenario(server_a, server_b, users))

    assert len(result["acks"]) == 2 * ROOMS + IDLE  # everyone is signed in again
    assert result["close_codes"] <= {1012, 1001, 1000, 1006, None}, result["close_codes"]
    assert len(result["rooms"]) == ROOMS
    for pk, status, user_1_connected, user_2_connected in result["rooms"]:
        assert status == ActiveRoom.Status.ACTIVE, (pk, status)  # grace lifted, call goes on
        assert (user_1_connected, user_2_connected) == (True, True)
    for server in (server_a, server_b):
        assert "Traceback" not in server.log("asgi"), server.log("asgi")[-3000:]
