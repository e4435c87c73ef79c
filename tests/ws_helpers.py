"""Helpers for the /ws/ tests: users with tokens, authenticated sockets, and receiving by type.

Events reach a socket through the channel layer after commit, so on one socket the order of an
`ack` and a pushed event is not guaranteed: `receive_until` waits for the type it is told and
keeps everything else in a backlog that later calls look at first. Every socket a test opens
goes through a `Sockets` registry, whose `close_all` disconnects them at teardown.

Time is moved in the database (timestamps), never slept through.

Every JSON frame the server sends to a test socket is kept in `FRAMES` (emptied by each new
`Sockets`); the `ws` fixture checks them all against the AsyncAPI document at teardown
(`assert_frames_match_asyncapi`), so the whole WS suite proves the published protocol."""

import asyncio
import itertools
import json
from datetime import timedelta

from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from channels.testing.application import ApplicationCommunicator
from django.db import connections
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker

from accounts.models import User
from accounts.services.sessions import start_session
from chat import asyncapi, presence, services
from chat.models import ActiveRoom, CallInvite, ChatHistory, Cooldown, SessionCompletion, TextChatMessage
from chat.selectors import ordered_pair

TIMEOUT = 5.0  # seconds to wait for something that must arrive
QUIET = 0.3  # seconds of silence that count as "nothing arrives"
NOISE = ("presence.update",)  # broadcast to every socket; tests ignore it unless they ask
CLIENT = ("127.0.0.1", 51234)  # what a real ASGI server puts in scope["client"]
# How long a client disconnect may take. The consumer's bookkeeping (presence, grace) runs
# first; then channels cancels its channel-layer receive, which channels_redis (with this
# redis-py) often keeps polling instead of stopping, so asgiref's wait() ends up cancelling the
# consumer after this long. Nothing is lost by then. At teardown nothing needs to finish.
DISCONNECT_WAIT = 2.0
TEARDOWN_WAIT = 0.5

run = database_sync_to_async  # run(fn)(*args): a sync (ORM) call from an async test
FRAMES: list[dict] = []  # every JSON frame a test socket received from the server (this test)


def received(text: str) -> dict:
    frame = json.loads(text)
    FRAMES.append(frame)
    return frame


def asyncapi_mismatches(frames: list[dict]) -> list[str]:
    """Each frame that the AsyncAPI document (/api/asyncapi.json) does not describe, and why."""
    problems, validators = [], {}
    for frame in frames:
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind not in validators:
            schema = asyncapi.payload_schema("server", kind) if isinstance(kind, str) else None
            validators[kind] = schema and Draft202012Validator(schema, format_checker=FormatChecker())
        validator = validators[kind]
        if validator is None:
            problems.append(f"no server message {kind!r} in the document: {frame}")
            continue
        problems += [
            f"{kind}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(frame)
        ]
    return problems


def assert_frames_match_asyncapi() -> None:
    problems = asyncapi_mismatches(FRAMES)
    assert problems == [], "frames the AsyncAPI document does not describe:\n" + "\n".join(problems[:20])


def default_application():
    from config.asgi import application

    return application


class Socket(WebsocketCommunicator):
    """A WebsocketCommunicator whose scope carries a client address (as daphne's does), with
    receive-by-type helpers. Never uses receive_output's timeout: on timeout asgiref cancels
    the application, which would hide what the test wants to see."""

    def __init__(self, application=None, *, client=CLIENT, path="/ws/"):
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": [],
            "client": client,
            "server": ("testserver", 80),
        }
        self.scope = scope
        ApplicationCommunicator.__init__(self, application or default_application(), scope)
        self.response_headers = None
        self.backlog: list[dict] = []  # JSON messages received but not yet asked for
        self.closed: dict | None = None  # the websocket.close message, once the server closed
        self.user: User | None = None
        self.session_id = None
        self._ids = itertools.count(1)

    # --- sending --------------------------------------------------------------------------

    def next_id(self) -> str:
        return f"r{next(self._ids)}"

    async def send(self, payload: dict) -> str:
        """Send a JSON message (an `id` is added if missing); returns its id."""
        payload = dict(payload)
        payload.setdefault("id", self.next_id())
        await self.send_json_to(payload)
        return payload["id"]

    async def request(self, payload: dict, *, timeout: float = TIMEOUT) -> dict:
        """Send and wait for the `ack` or `error` that answers it (matched by id)."""
        request_id = await self.send(payload)
        return await self.receive_until(("ack", "error"), timeout=timeout, id=request_id)

    async def ok(self, payload: dict, *, timeout: float = TIMEOUT) -> dict:
        """request(), asserting the answer is an ack."""
        reply = await self.request(payload, timeout=timeout)
        assert reply["type"] == "ack", f"expected an ack for {payload}, got {reply}"
        return reply

    async def refused(self, payload: dict, code: str, *, timeout: float = TIMEOUT) -> dict:
        """request(), asserting the answer is an error with this code."""
        reply = await self.request(payload, timeout=timeout)
        assert reply["type"] == "error", f"expected error {code} for {payload}, got {reply}"
        assert reply["code"] == code, f"expected error {code} for {payload}, got {reply}"
        return reply

    async def ping(self) -> dict:
        """A ping answered by its ack: proves the socket is open and usable."""
        return await self.ok({"type": "ping"})

    # --- receiving ------------------------------------------------------------------------

    async def _next_output(self, timeout: float) -> dict | None:
        """The next raw ASGI message, or None after `timeout` (the application keeps running)."""
        if self.future.done():
            self.future.result()  # raise what crashed the consumer
        try:
            return await asyncio.wait_for(self.output_queue.get(), timeout)
        except TimeoutError:
            if self.future.done():
                self.future.result()
            return None

    async def _next_message(self, timeout: float) -> dict | None:
        """The next JSON message; a server close is recorded and raises AssertionError."""
        output = await self._next_output(timeout)
        if output is None:
            return None
        if output["type"] == "websocket.close":
            self.closed = output
            raise AssertionError(f"the server closed the socket: {output}; unread: {self.backlog}")
        assert output["type"] == "websocket.send", output
        assert "text" in output, f"the server sent a binary frame: {output}"
        return received(output["text"])

    async def receive_until(self, types, *, timeout: float = TIMEOUT, **match) -> dict:
        """The first message of one of `types` (a str or tuple) whose fields equal `match`;
        from the backlog first, then from the socket. Other messages go to the backlog."""
        types = (types,) if isinstance(types, str) else tuple(types)

        def wanted(message: dict) -> bool:
            return message.get("type") in types and all(message.get(k) == v for k, v in match.items())

        for index, message in enumerate(self.backlog):
            if wanted(message):
                return self.backlog.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            message = await self._next_message(max(left, 0)) if left > 0 else None
            if message is None:
                raise AssertionError(f"no {types} {match or ''} within {timeout}s; received instead: {self.backlog}")
            if wanted(message):
                return message
            self.backlog.append(message)

    async def collect(self, *, timeout: float = QUIET, ignore=NOISE) -> list[dict]:
        """Everything that arrives within `timeout` (after the backlog), noise left out."""
        received = [m for m in self.backlog if m.get("type") not in ignore]
        self.backlog = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            message = await self._next_message(left)
            if message is None:
                break
            if message.get("type") not in ignore:
                received.append(message)
        return received

    async def assert_nothing(self, *, timeout: float = QUIET, ignore=NOISE) -> None:
        """No message arrives (in `timeout`), other than noise."""
        received = await self.collect(timeout=timeout, ignore=ignore)
        assert received == [], f"expected nothing, received {received}"

    async def assert_no_event(self, event_type: str, *, timeout: float = QUIET) -> None:
        """No message of this type is in the backlog or arrives within `timeout`."""
        received = await self.collect(timeout=timeout, ignore=())
        unwanted = [m for m in received if m.get("type") == event_type]
        self.backlog = [m for m in received if m.get("type") != event_type]
        assert unwanted == [], f"expected no {event_type}, received {unwanted}"

    async def expect_close(self, *, timeout: float = TIMEOUT) -> tuple[int, str, list[dict]]:
        """Wait for the server to close: (code, reason, the JSON messages sent before)."""
        messages = list(self.backlog)
        self.backlog = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            output = await self._next_output(left)
            if output is None:
                break
            if output["type"] == "websocket.close":
                self.closed = output
                return output.get("code"), output.get("reason", ""), messages
            messages.append(received(output["text"]))
        raise AssertionError(f"the server did not close within {timeout}s; received {messages}")

    async def is_open(self) -> bool:
        """True if a ping is answered (and the socket was not closed)."""
        if self.closed is not None:
            return False
        try:
            await self.ping()
        except AssertionError:
            return False
        return True


def fresh_channel_layer() -> None:
    """Forget the process-wide channel layer, so this test builds a new one (from settings) on
    its own event loop. channels_redis keeps per-loop state (its receive lock); a consumer
    cancelled in the middle of a receive would otherwise leave it bound to the previous
    test's closed loop ("bound to a different event loop")."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


class Sockets:
    """The sockets one test opened, and the users' tokens (one login per user, because a new
    login closes the previous session's sockets)."""

    def __init__(self):
        self.opened: list[Socket] = []
        self.tokens: dict[str, str] = {}
        FRAMES.clear()
        fresh_channel_layer()

    async def token_for(self, user: User) -> str:
        key = str(user.pk)
        if key not in self.tokens:
            self.tokens[key] = await run(start_session)(user, ip="127.0.0.1")
        return self.tokens[key]

    async def raw(self, application=None, *, client=CLIENT) -> Socket:
        """A connected (accepted) socket that has not authenticated."""
        socket = Socket(application, client=client)
        self.opened.append(socket)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        assert connected, "the server refused the WebSocket handshake"
        return socket

    async def connect(
        self,
        user: User,
        *,
        application=None,
        since: int | None = None,
        available: bool | None = None,
        modes=("video", "text"),
    ) -> Socket:
        """A socket authenticated as `user` (its auth ack received); with available=True it
        also sent presence.set."""
        socket = await self.raw(application)
        auth = {"type": "auth", "token": await self.token_for(user), "id": "a"}
        if since is not None:
            auth["since"] = since
        await socket.send_json_to(auth)
        ack = await socket.receive_until("ack", **{"for": "auth"})
        assert ack["user"]["id"] == str(user.pk)
        socket.user, socket.session_id = user, ack["session"]
        if available is not None:
            await socket.ok({"type": "presence.set", "available": available, "modes": list(modes)})
        return socket

    async def disconnect(self, socket: Socket) -> None:
        """The client goes away (the consumer's disconnect bookkeeping runs)."""
        if socket in self.opened:
            self.opened.remove(socket)
        await socket.disconnect(timeout=DISCONNECT_WAIT)

    async def close_all(self) -> None:
        results = await asyncio.gather(
            *(socket.disconnect(timeout=TEARDOWN_WAIT) for socket in self.opened), return_exceptions=True
        )
        for socket, result in zip(self.opened, results, strict=True):
            if isinstance(result, BaseException):
                socket.future.cancel()
        self.opened = []
        # The tests' own ORM calls (run) share one sync thread: this waits for any still running,
        # then closes its connection so the test database can be flushed and dropped. The
        # consumers' database threads give theirs back after every call (config.db_threads).
        await run(connections.close_all)()
        fresh_channel_layer()


# --- rows ------------------------------------------------------------------------------------


async def start_room(
    sockets: Sockets,
    caller: User,
    callee: User,
    *,
    mode: str = "video",
    seconds: int = 300,
    callee_seconds: int | None = None,
    application=None,
) -> tuple[Socket, Socket, str]:
    """caller invites callee (both online and available) and callee accepts: returns the two
    sockets, with their room.start events consumed, and the room id."""
    a = await sockets.connect(caller, available=True, application=application)
    b = await sockets.connect(callee, available=True, application=application)
    ack = await a.ok({"type": "call.invite", "to": str(callee.pk), "mode": mode, "seconds": seconds})
    incoming = await b.receive_until("call.incoming", invite=ack["invite"])
    accepted = await b.ok({"type": "call.accept", "invite": incoming["invite"], "seconds": callee_seconds or seconds})
    room_id = accepted["room"]
    await a.receive_until("room.start", room=room_id)
    await b.receive_until("room.start", room=room_id)
    await settle()
    return a, b, room_id


async def settle() -> None:
    """Let the consumers' room timers read their deadlines before the test moves time. Each
    socket in a room runs a timer that reads the room's next deadline from the database once
    and sleeps until then; if it read a deadline the test had just moved into the past, it
    would act on it itself. The timers' reads go to the one database thread, in order: a
    loop tick lets pending timer tasks submit theirs, then a no-op queued behind them waits."""
    await asyncio.sleep(0.05)
    await run(lambda: None)()


@database_sync_to_async
def get_room(room_id) -> ActiveRoom:
    return ActiveRoom.objects.get(pk=room_id)


async def update_room(room_id, **fields) -> None:
    await settle()
    assert await run(ActiveRoom.objects.filter(pk=room_id).update)(**fields) == 1


def _age_room(room_id, seconds: float) -> ActiveRoom:
    room = ActiveRoom.objects.get(pk=room_id)
    delta = timedelta(seconds=seconds)
    ActiveRoom.objects.filter(pk=room_id).update(started_at=room.started_at - delta, ends_at=room.ends_at - delta)
    room.refresh_from_db()
    return room


async def age_room(room_id, seconds: float) -> ActiveRoom:
    """Move the room's start (and ends_at, keeping its length) `seconds` into the past, as
    if it had been running that long (message timestamps stay where they are)."""
    await settle()
    return await run(_age_room)(room_id, seconds)


@database_sync_to_async
def allow_next_message(room_id) -> None:
    """Move both sides' last message 2 s back, past the 1.5 s spacing (instead of sleeping)."""
    room = ActiveRoom.objects.get(pk=room_id)
    two = timedelta(seconds=2)
    changes = {}
    for side in ("user_1_last_message_at", "user_2_last_message_at"):
        if getattr(room, side):
            changes[side] = getattr(room, side) - two
    if changes:
        ActiveRoom.objects.filter(pk=room_id).update(**changes)


@database_sync_to_async
def expire_invite_now(invite_id) -> None:
    """Move the invite's 20 s window into the past (created 30 s ago, expired 10 s ago)."""
    now = timezone.now()
    updated = CallInvite.objects.filter(pk=invite_id).update(
        created_at=now - timedelta(seconds=30), expires_at=now - timedelta(seconds=10)
    )
    assert updated == 1


@database_sync_to_async
def get_invite(invite_id) -> CallInvite:
    return CallInvite.objects.get(pk=invite_id)


@database_sync_to_async
def count(model, **filters) -> int:
    return model.objects.filter(**filters).count()


@database_sync_to_async
def cooldown_between(a: User, b: User) -> Cooldown | None:
    low, high = ordered_pair(a.pk, b.pk)
    return Cooldown.objects.filter(user_low_id=low, user_high_id=high).first()


@database_sync_to_async
def refreshed(user: User) -> User:
    return User.objects.get(pk=user.pk)


@database_sync_to_async
def messages_of(room_id) -> list[TextChatMessage]:
    return list(TextChatMessage.objects.filter(room_id=room_id).order_by("pk"))


@database_sync_to_async
def bookkeeping(room_id, *users: User) -> dict:
    """What a finished room left per user: completions, history rows, total, sum of completions."""
    result = {}
    for user in users:
        completions = list(SessionCompletion.objects.filter(room_id=room_id, user=user))
        history = list(ChatHistory.objects.filter(room_id=room_id, user=user))
        fresh = User.objects.get(pk=user.pk)
        total_completed = sum(SessionCompletion.objects.filter(user=user).values_list("duration_seconds", flat=True))
        result[str(user.pk)] = {
            "completions": completions,
            "history": history,
            "timer_total_seconds": fresh.timer_total_seconds,
            "sum_of_completions": total_completed,
            "session_count": fresh.session_count,
        }
    return result


async def assert_room_finished(room_id, a: User, b: User, *, reason: str, duration: int | None = None) -> dict:
    """The room ended once with `reason` and full bookkeeping for both users: one completion
    each (same duration), one chat_history row each, totals equal the sum of completions, and
    a 24-hour cooldown for the pair. Returns the bookkeeping."""
    room = await get_room(room_id)
    assert room.status == ActiveRoom.Status.ENDED
    assert room.end_reason == reason
    assert room.ended_at is not None
    rows = await bookkeeping(room_id, a, b)
    durations = set()
    for user in (a, b):
        data = rows[str(user.pk)]
        assert len(data["completions"]) == 1, data
        assert len(data["history"]) == 1, data
        durations.add(data["completions"][0].duration_seconds)
        assert data["history"][0].duration_seconds == data["completions"][0].duration_seconds
        assert data["timer_total_seconds"] == data["sum_of_completions"]
    assert len(durations) == 1, durations
    if duration is not None:
        assert durations == {duration}
    cooldown = await cooldown_between(a, b)
    assert cooldown is not None
    assert cooldown.reason == Cooldown.Reason.SESSION_END
    assert cooldown.expires_at > timezone.now() + timedelta(hours=23, minutes=59)
    return rows


async def apply_room_timers(room_id, *, acts: str) -> None:
    """services.apply_room_timers, as a timer or the sweep runs it. The members' sockets keep their
    own room timers, which may read a deadline the test has just moved and act first: so
    either this call acted as expected or found nothing left to do. Callers then assert the
    outcome (events and rows), which is the same whoever acted."""
    result = await run(services.apply_room_timers)(room_id)
    assert result in (acts, None), f"apply_room_timers did {result!r}, expected {acts!r} (or nothing left to do)"


async def set_presence(user: User, *, available: bool, modes=("video", "text")) -> None:
    """Presence straight in Redis (for a user who is online through some socket)."""
    await run(presence.set_available)(user.pk, available, tuple(modes))
