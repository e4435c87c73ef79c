"""The clients of the chaos tests (tests/test_faults.py) and bench/faults.py: WebSockets that
record every write the server acknowledged, a full call over them, and the check in PostgreSQL
that each acknowledged write is there exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid

from websockets.asyncio.client import connect

from tests.faults import PostgresServer, Stack

# --- clients ----------------------------------------------------------------------------------


class Outcomes:
    """What the clients saw: acknowledged writes (kind, data) and error codes, with times."""

    def __init__(self):
        self.acked: list[tuple[float, str, dict]] = []
        self.errors: list[tuple[float, str]] = []
        self.calls: list[float] = []  # when each full call (invite → accept → message → end) completed

    def ack(self, kind: str, **data) -> None:
        self.acked.append((time.monotonic(), kind, data))

    def error(self, code: str) -> None:
        self.errors.append((time.monotonic(), code))


class Refused(Exception):
    def __init__(self, code: str, reply: dict | None = None):
        super().__init__(code)
        self.code, self.reply = code, reply


class Socket:
    """One signed-in WebSocket of one user, kept open (it never reconnects on its own: a test
    that wants "no reconnect" sees any close as a failure)."""

    def __init__(self, stack: Stack, user_id: str, token: str):
        self.stack, self.user_id, self.token = stack, user_id, token
        self.ws = None
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future] = {}
        self.events: asyncio.Queue = asyncio.Queue()
        self.reader: asyncio.Task | None = None
        self.closed_with: int | None = None
        self.timings: list[tuple[float, float]] = []  # (when asked, seconds to the answer or the give-up)
        self.pending_invite: str | None = None
        self.asked: list[tuple[float, float, str]] = []  # the same, with the request's type

    async def open(self, *, attempts: int = 5) -> None:
        """Connect and sign in. A sign-in the server shed (close 4013: it could not register the
        socket in time, as just after a start) is tried again after a pause, as the web client
        reconnects; any other failure raises."""
        for attempt in range(attempts):
            try:
                return await self._open_once()
            except ConnectionError:
                if self.closed_with != 4013 or attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))

    async def _open_once(self) -> None:
        self.closed_with = None
        self.ws = await connect(self.stack.ws_url, open_timeout=10, max_size=2**20)
        self.reader = asyncio.create_task(self._read())
        await self.request({"type": "auth", "token": self.token})
        await self.request({"type": "presence.set", "available": True, "modes": ["video", "text"]})

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                data = json.loads(frame)
                future = self.waiting.pop(str(data.get("id")), None) if data.get("type") in ("ack", "error") else None
                if future is not None and not future.done():
                    future.set_result(data)
                else:
                    self.events.put_nowait(data)
        except Exception:  # noqa: BLE001, S110 - closed: recorded below
            pass
        self.closed_with = self.ws.close_code or -1
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(f"closed {self.closed_with}"))
                future.exception()  # seen here: its request may have given up waiting already

    async def request(self, payload: dict, *, timeout: float = 15) -> dict:
        """Send and wait for the answer; an error answer raises Refused(code)."""
        request_id = f"r{next(self.ids)}"
        future = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future
        asked = time.monotonic()
        try:
            await self.ws.send(json.dumps({**payload, "id": request_id}))
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self.timings.append((asked, time.monotonic() - asked))
            self.asked.append((asked, time.monotonic() - asked, payload["type"]))
        if reply["type"] == "error":
            raise Refused(reply["code"], reply)
        return reply

    async def next_event(self, kind: str, *, timeout: float = 10, **match) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = await asyncio.wait_for(self.events.get(), max(0.01, deadline - time.monotonic()))
            if event.get("type") == kind and all(event.get(k) == v for k, v in match.items()):
                return event

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader


async def full_call(a: Socket, b: Socket, out: Outcomes, *, messages: int = 1, timeout: float = 8) -> str:
    """invite → accept → a message each way (client ids) → end: each ack recorded as it comes.
    Returns the room id; raises Refused or TimeoutError when a step is refused or unanswered."""
    invite = await a.request({"type": "call.invite", "to": b.user_id, "mode": "text", "seconds": 300}, timeout=timeout)
    out.ack("invite", invite=invite["invite"], from_user=a.user_id, to_user=b.user_id)
    a.pending_invite = invite["invite"]
    await b.next_event("call.incoming", timeout=timeout)
    room = (await b.request({"type": "call.accept", "invite": invite["invite"], "seconds": 300}, timeout=timeout))[
        "room"
    ]
    out.ack("room", room=room, users=sorted([a.user_id, b.user_id]))
    a.pending_invite = None
    for n in range(messages):
        for sender in (a, b) if n == 0 else (a,):
            client_id = uuid.uuid4().hex
            ack = await send_message(sender, room, client_id, timeout=timeout)
            out.ack("message", room=room, sender=sender.user_id, client_id=client_id, id=ack["message_id"])
    await end_room(a, room, out, timeout=timeout)
    out.calls.append(time.monotonic())
    return room


async def send_message(socket: Socket, room: str, client_id: str, *, timeout: float) -> dict:
    """A chat message, retried with the same client id after a refusal that asks for a retry."""
    for _ in range(6):
        try:
            return await socket.request(
                {"type": "chat.message", "room": room, "client_id": client_id, "text": "hello"}, timeout=timeout
            )
        except Refused as exc:
            if exc.code not in ("too_fast", "service_unavailable"):
                raise
            await asyncio.sleep((exc.reply or {}).get("retry_after") or 1.5)
    raise Refused("gave_up")


async def end_room(socket: Socket, room: str, out: Outcomes, *, timeout: float) -> None:
    """room.end, retried after service_unavailable: a retry answers with the committed end."""
    for _ in range(6):
        try:
            await socket.request({"type": "room.end", "room": room}, timeout=timeout)
            out.ack("room_ended", room=room)
            return
        except Refused as exc:
            if exc.code != "service_unavailable":
                raise
            await asyncio.sleep(1)
    raise Refused("gave_up")


# --- the proof in PostgreSQL -----------------------------------------------------------------


def forget_cooldown(postgres: PostgresServer, a: str, b: str) -> None:
    """The load's own shortcut: a pair may call again at once (a call leaves a 24 h cooldown)."""
    with postgres.connect(connect_timeout=2, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM cooldowns WHERE user_low_id = ANY(%s::uuid[]) AND user_high_id = ANY(%s::uuid[])",
            [[a, b], [a, b]],
        )


def verify(postgres: PostgresServer, out: Outcomes) -> dict:
    """Every acknowledged write in PostgreSQL exactly once: {"lost": [...], "duplicated": [...]}."""
    lost, duplicated = [], []
    with postgres.connect() as conn:
        for _, kind, data in out.acked:
            if kind == "invite":
                rows = conn.execute(
                    "SELECT count(*) FROM call_invites WHERE id = %s AND from_user_id = %s AND to_user_id = %s",
                    [data["invite"], data["from_user"], data["to_user"]],
                ).fetchone()[0]
            elif kind == "room":
                rows = conn.execute("SELECT count(*) FROM active_rooms WHERE id = %s", [data["room"]]).fetchone()[0]
            elif kind == "room_ended":
                rows = conn.execute(
                    "SELECT count(*) FROM active_rooms WHERE id = %s AND status = 'ended'", [data["room"]]
                ).fetchone()[0]
                completions = conn.execute(
                    "SELECT count(*) FROM session_completions WHERE room_id = %s", [data["room"]]
                ).fetchone()[0]
                if completions > 2:
                    duplicated.append((kind, data, f"{completions} completions"))
            elif kind == "message":
                rows = conn.execute(
                    "SELECT count(*) FROM text_chat_messages WHERE room_id = %s AND sender_id = %s AND client_id = %s",
                    [data["room"], data["sender"], data["client_id"]],
                ).fetchone()[0]
            else:
                raise ValueError(kind)
            if rows == 0:
                lost.append((kind, data))
            elif rows > 1:
                duplicated.append((kind, data, rows))
    return {"lost": lost, "duplicated": duplicated}
