"""The mixed load of the kill -9 test (tests/test_crash_recovery.py): real HTTP and WebSocket
clients against a LiveStack, recording every write the server acknowledged.

A round is a list of steps (ROUND); each step talks to the server and, when the server says
ok (HTTP 2xx, WebSocket ack), records an Acked fact whose kind has a verifier (VERIFIERS) run
against the database after the last restart. Adding an operation is a step function plus a
verifier. Any failure (a killed server, a refused call) abandons the round: what was acked
stays recorded, the rest is not expected.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import requests
from websockets.asyncio.client import connect

REQUEST_TIMEOUT = 8.0
MESSAGE_GAP = 1.6  # the server allows one chat message every 1.5 s per user


@dataclass(frozen=True)
class Acked:
    kind: str
    data: dict


class Refused(Exception):
    """The server answered, but not ok: the round stops (nothing to record)."""


@dataclass
class Client:
    user_id: str
    token: str
    name: str
    ws: object | None = None
    counter: itertools.count = field(default_factory=itertools.count)


class Load:
    """Shared by every actor: the stack's URLs, the invite code, and the acked facts."""

    def __init__(self, stack, invite_code: str, *, seed: int):
        self.stack = stack
        self.invite_code = invite_code
        self.acked: list[Acked] = []
        self.rounds_completed = 0
        self.rounds_abandoned = 0
        self.failures: collections.Counter = collections.Counter()  # why rounds were cut
        self.random = random.Random(seed)
        self.names = itertools.count()

    def record(self, kind: str, **data) -> None:
        self.acked.append(Acked(kind, data))

    def count(self, kind: str) -> int:
        return sum(1 for a in self.acked if a.kind == kind)

    # --- transport ---------------------------------------------------------------------------

    async def http(self, method: str, path: str, *, token: str | None = None, body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"

        def call():
            return requests.request(
                method, f"{self.stack.url}{path}", json=body, headers=headers, timeout=REQUEST_TIMEOUT
            )

        answer = await asyncio.to_thread(call)
        if not 200 <= answer.status_code < 300:
            raise Refused(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
        return answer.json() if answer.content else None

    async def open_socket(self, client: Client) -> list[dict]:
        """Connect and authenticate; returns the frames that came with the auth ack (room.resume…)."""
        client.ws = await connect(self.stack.ws_url, open_timeout=REQUEST_TIMEOUT, close_timeout=1)
        await self.ws_request(client, {"type": "auth", "token": client.token})
        extra = []
        try:
            while True:
                extra.append(json.loads(await asyncio.wait_for(client.ws.recv(), timeout=0.5)))
        except TimeoutError:
            pass
        return extra

    async def ws_request(self, client: Client, message: dict) -> dict:
        """Send one message with an id and wait for its ack (or error → Refused)."""
        request_id = f"r{next(client.counter)}"
        await client.ws.send(json.dumps({**message, "id": request_id}))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_TIMEOUT
        while True:
            frame = json.loads(await asyncio.wait_for(client.ws.recv(), timeout=max(0.1, deadline - loop.time())))
            if frame.get("id") != request_id:
                continue  # pushed events (presence, call.incoming, chat.message …)
            if frame["type"] == "ack":
                return frame
            raise Refused(f"{message['type']}: {frame.get('code')} {frame.get('message')}")

    async def wait_for(self, client: Client, frame_type: str, *, timeout: float) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = json.loads(await asyncio.wait_for(client.ws.recv(), timeout=max(0.1, deadline - loop.time())))
            if frame.get("type") == frame_type:
                return frame

    async def close(self, *clients: Client) -> None:
        for client in clients:
            if client.ws is not None:
                with contextlib.suppress(Exception):  # the server may be dead already
                    await asyncio.wait_for(client.ws.close(), timeout=2)
                client.ws = None


# --- steps: each takes (load, state) and records what the server acked -----------------------


async def sign_up_two(load: Load, state: dict) -> None:
    """Two guests sign up with the limited invite code: a user row and a code use each."""
    for key in ("a", "b"):
        name = f"Crash {next(load.names)}"
        body = {"name": name, "gender": "unspecified", "terms_accepted": True, "invite_code": load.invite_code}
        answer = await load.http("POST", "/api/auth/signup", body=body)
        user_id = answer["user"]["id"]
        load.record("user", user_id=user_id)
        load.record("code_use", user_id=user_id, code=load.invite_code)
        state[key] = Client(user_id, answer["token"], name)


async def go_online(load: Load, state: dict) -> None:
    for key in ("a", "b"):
        await load.open_socket(state[key])
        await load.ws_request(state[key], {"type": "presence.set", "available": True, "modes": ["video", "text"]})


async def invite(load: Load, state: dict) -> None:
    a, b = state["a"], state["b"]
    ack = await load.ws_request(a, {"type": "call.invite", "to": b.user_id, "mode": "text", "seconds": 60})
    load.record("invite", invite_id=ack["invite"], from_user=a.user_id, to_user=b.user_id)
    state["invite"] = ack["invite"]


async def accept(load: Load, state: dict) -> None:
    a, b = state["a"], state["b"]
    ack = await load.ws_request(b, {"type": "call.accept", "invite": state["invite"], "seconds": 60})
    load.record("room", room_id=ack["room"], users=sorted([a.user_id, b.user_id]))
    state["room"] = ack["room"]


async def exchange_messages(load: Load, state: dict) -> None:
    for turn in range(2):
        for key in ("a", "b"):
            client = state[key]
            client_id = uuid.uuid4().hex
            message = {"type": "chat.message", "room": state["room"], "client_id": client_id, "text": f"hi {turn}"}
            ack = await load.ws_request(client, message)
            load.record(
                "message", room_id=state["room"], sender=client.user_id, client_id=client_id, id=ack["message_id"]
            )
        await asyncio.sleep(MESSAGE_GAP)


async def maybe_end_room(load: Load, state: dict) -> None:
    """Most calls are ended by a member; the rest are left to the timer, the disconnect grace
    and the sweeps (their sockets just close)."""
    if load.random.random() < 0.7:
        await load.ws_request(state["a"], {"type": "room.end", "room": state["room"]})
        load.record("room_ended", room_id=state["room"])


async def report_partner(load: Load, state: dict) -> None:
    """Some calls end in a report (the evidence snapshot is written in the report's transaction)."""
    if load.random.random() < 0.5:
        a, b = state["a"], state["b"]
        body = {"reported_user_id": b.user_id, "category": "spam", "text": "crash test", "room_id": state["room"]}
        answer = await load.http("POST", "/api/reports", token=a.token, body=body)
        load.record("report", id=answer["id"], reporter=a.user_id, reported=b.user_id, room_id=state["room"])


Step = Callable[[Load, dict], Awaitable[None]]
# One more kind of write = one step here + one verifier in test_crash_recovery.VERIFIERS.
ROUND: list[Step] = [sign_up_two, go_online, invite, accept, exchange_messages, maybe_end_room, report_partner]


async def actor(load: Load, stop: asyncio.Event) -> None:
    """Rounds until told to stop; a failing step abandons its round."""
    while not stop.is_set():
        state: dict = {}
        try:
            for step in ROUND:
                await step(load, state)
            load.rounds_completed += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a killed server or a refusal: start over
            load.rounds_abandoned += 1
            load.failures[f"{step.__name__}: {type(exc).__name__} {str(exc)[:60]}"] += 1
            await asyncio.sleep(0.3)
        finally:
            await load.close(*(c for c in state.values() if isinstance(c, Client)))


class Resumer:
    """One long video call (30 min) whose members reconnect after every drop: each time the
    server is back, auth must be followed by room.resume for the same room."""

    def __init__(self, load: Load):
        self.load = load
        self.room: str | None = None
        self.clients: list[Client] = []
        self.resumes = 0

    async def start(self) -> None:
        state: dict = {}
        await sign_up_two(self.load, state)
        await go_online(self.load, state)
        a, b = state["a"], state["b"]
        ack = await self.load.ws_request(a, {"type": "call.invite", "to": b.user_id, "mode": "video", "seconds": 1800})
        self.load.record("invite", invite_id=ack["invite"], from_user=a.user_id, to_user=b.user_id)
        ack = await self.load.ws_request(b, {"type": "call.accept", "invite": ack["invite"], "seconds": 1800})
        self.room = ack["room"]
        self.load.record("room", room_id=self.room, users=sorted([a.user_id, b.user_id]))
        self.clients = [a, b]

    async def keep_connected(self, stop: asyncio.Event) -> None:
        """Ping both sockets; when one drops, reconnect it and expect room.resume."""
        while not stop.is_set():
            for client in self.clients:
                try:
                    await self.load.ws_request(client, {"type": "ping"})
                except Exception:  # noqa: BLE001 - dropped: reconnect until the server is back
                    await self.load.close(client)
                    while not stop.is_set():
                        try:
                            frames = await self.load.open_socket(client)
                            break
                        except Exception:  # noqa: BLE001
                            await self.load.close(client)
                            await asyncio.sleep(0.3)
                    else:
                        return
                    resumed = [f for f in frames if f.get("type") == "room.resume"]
                    if not resumed:
                        resumed = [await self.load.wait_for(client, "room.resume", timeout=10)]
                    assert resumed[0]["room"] == self.room, f"resumed another room: {resumed[0]}"
                    self.resumes += 1
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        await self.load.close(*self.clients)
