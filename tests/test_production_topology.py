"""The production topology of docs/deploy.md, proven on this machine: two ASGI servers on two
ports, a Celery worker and beat, every process reaching PostgreSQL only through PgBouncer in
transaction pooling mode (DB_PGBOUNCER=1), and the Channels layer sharded over two Redis
servers (CHANNEL_REDIS_URLS). A user signs up on each server, each sees the other in the reel,
they call and chat across the servers; one server is SIGKILLed mid-call, its user reconnects
to the other one, the room resumes with every message, they go on and end the call; every
record is in PostgreSQL and persistence_check passes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import requests
from django.conf import settings
from websockets.asyncio.client import connect

from chat.models import ActiveRoom, ChatHistory, Cooldown, SessionCompletion, TextChatMessage
from chat.selectors import ordered_pair
from referrals.services import ensure_user_invite_code
from tests.factories import UserFactory
from tests.live_stack import ROOT, LiveStack
from tests.topology import PgBouncer, SecondRedis
from tests.ws_helpers import asyncapi_mismatches

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 15.0


class Peer:
    """A user's HTTP and WebSocket client against one server; every frame kept in `seen`."""

    def __init__(self, name: str, stack: LiveStack, seen: list[dict]):
        self.name, self.stack, self.seen = name, stack, seen
        self.token = self.user_id = self.ws = None
        self.backlog: list[dict] = []
        self.ids = iter(range(1, 10_000))

    def http(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(method, f"{self.stack.url}{path}", json=body, headers=headers, timeout=10)

    def sign_up(self, code: str) -> None:
        answer = self.http("POST", "/api/auth/signup", {"name": self.name, "gender": "unspecified"} | {
            "terms_accepted": True, "invite_code": code})  # fmt: skip
        assert answer.status_code == 201, answer.text
        self.token, self.user_id = answer.json()["token"], answer.json()["user"]["id"]

    async def connect(self, stack: LiveStack | None = None, since: int | None = None) -> list[dict]:
        """Open a socket (on `stack` if given) and sign in; returns what came before the ack."""
        self.stack = stack or self.stack
        self.ws = await connect(self.stack.ws_url, open_timeout=WAIT)
        self.backlog = []
        auth = {"type": "auth", "token": self.token} | ({"since": since} if since is not None else {})
        await self.ok(auth)
        return self.backlog

    async def send(self, message: dict) -> str:
        message = {"id": f"{self.name}-{next(self.ids)}", **message}
        await self.ws.send(json.dumps(message))
        return message["id"]

    async def receive(self, kind: str, **match) -> dict:
        for frame in self.backlog:
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                self.backlog.remove(frame)
                return frame
        async with asyncio.timeout(WAIT):
            while True:
                frame = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame
                self.backlog.append(frame)

    async def ok(self, message: dict) -> dict:
        request_id = await self.send(message)
        async with asyncio.timeout(WAIT):
            while True:
                frame = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame.get("id") == request_id and frame["type"] in ("ack", "error"):
                    assert frame["type"] == "ack", f"{message} refused: {frame}"
                    return frame
                self.backlog.append(frame)


def reel_ids(peer: Peer) -> set[str]:
    answer = peer.http("GET", "/api/reel")
    assert answer.status_code == 200, answer.text
    return {card["id"] for card in answer.json()["results"]}


async def eventually_in_reel(viewer: Peer, other: Peer) -> None:
    async with asyncio.timeout(WAIT):
        while other.user_id not in await asyncio.to_thread(reel_ids, viewer):
            await asyncio.sleep(0.3)


def test_two_servers_behind_pgbouncer_and_sharded_redis_survive_a_kill_mid_call(tmp_path):
    seed = UserFactory(name="Seed")
    code = ensure_user_invite_code(seed).code
    with PgBouncer() as bouncer, SecondRedis(tmp_path / "redis2") as redis2:
        env = {
            "DATABASE_URL": bouncer.database_url(),
            "DB_PGBOUNCER": "1",
            "DB_CONN_MAX_AGE": "60",
            "CHANNEL_REDIS_URLS": f"{settings.REDIS_URL},{redis2.url}",
        }
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        one = LiveStack(tmp_path / "one", processes=("asgi", "worker", "beat"), extra_env=env)
        two = LiveStack(tmp_path / "two", processes=("asgi",), extra_env=env)
        try:
            one.start()
            two.start()
            asyncio.run(call_across_servers(one, two, code))
            room = ActiveRoom.objects.get()
            check = subprocess.run(
                [sys.executable, "manage.py", "persistence_check"],
                cwd=ROOT,
                env=two.env,  # through PgBouncer, as a deployment runs it
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert check.returncode == 0, check.stdout + check.stderr
        finally:
            for stack in (one, two):
                stack.stop()
            bouncer_log = bouncer.log()
        logs = "".join(stack.log(name) for stack in (one, two) for name in ("asgi", "worker", "beat"))
        # A Celery pool child that the stop's SIGTERM (to the whole process group) caught mid-task
        # logs WorkerLostError: an artefact of stopping, not of the topology.
        tracebacks = [t for t in logs.split("Traceback")[1:] if "WorkerLostError" not in t[:3000]]
        assert not tracebacks, logs[-5000:]
        assert "prepared statement" not in logs, logs[-5000:]
        assert f"db={bouncer.dbname}" in bouncer_log  # every process really went through PgBouncer

    assert room.status == ActiveRoom.Status.ENDED and room.end_reason == ActiveRoom.EndReason.USER_ENDED
    texts = list(TextChatMessage.objects.filter(room=room).order_by("id").values_list("client_id", "content"))
    assert texts == [("a-1", "hello from one"), ("b-1", "hello from two"), ("a-2", "back, via two")]
    assert SessionCompletion.objects.filter(room=room).count() == 2
    assert ChatHistory.objects.filter(room=room).count() == 2
    low, high = ordered_pair(room.user_1_id, room.user_2_id)
    assert Cooldown.objects.filter(user_low=low, user_high=high).exists()


async def call_across_servers(one: LiveStack, two: LiveStack, code: str) -> None:
    seen: list[dict] = []
    alice, bob = Peer("Alice", one, seen), Peer("Bob", two, seen)
    await asyncio.to_thread(alice.sign_up, code)
    await asyncio.to_thread(bob.sign_up, code)
    await alice.connect()
    await bob.connect()
    for peer in (alice, bob):
        await peer.ok({"type": "presence.set", "available": True})
    await eventually_in_reel(alice, bob)  # server one's reel shows the user on server two
    await eventually_in_reel(bob, alice)

    invite = await alice.ok({"type": "call.invite", "to": bob.user_id, "mode": "text", "seconds": 600})
    await bob.receive("call.incoming", invite=invite["invite"])  # crossed servers and Redis shards
    accepted = await bob.ok({"type": "call.accept", "invite": invite["invite"], "seconds": 600})
    room = accepted["room"]
    await alice.receive("room.start", room=room)
    await bob.receive("room.start", room=room)

    await alice.ok({"type": "chat.message", "room": room, "client_id": "a-1", "text": "hello from one"})
    await bob.receive("chat.message", client_id="a-1")
    await bob.ok({"type": "chat.message", "room": room, "client_id": "b-1", "text": "hello from two"})
    await alice.receive("chat.message", client_id="b-1")

    one.kill("asgi")  # kill -9 of Alice's server, mid-call
    before_ack = await alice.connect(two, since=0)  # her client reconnects through the balancer
    resume = next((f for f in before_ack if f["type"] == "room.resume"), None) or await alice.receive("room.resume")
    assert resume["room"] == room
    assert [m["client_id"] for m in resume["messages"]] == ["a-1", "b-1"]

    await asyncio.sleep(1.6)  # one message every 1.5 s per user
    again = await alice.ok({"type": "chat.message", "room": room, "client_id": "a-1", "text": "hello from one"})
    assert again["duplicate"] is True  # a resend after the reconnect is stored once
    await asyncio.sleep(1.6)
    await alice.ok({"type": "chat.message", "room": room, "client_id": "a-2", "text": "back, via two"})
    await bob.receive("chat.message", client_id="a-2")

    await bob.ok({"type": "room.end", "room": room})
    for peer in (alice, bob):
        ended = await peer.receive("room.ended", room=room)
        assert ended["reason"] == "user_ended"
        await peer.receive("me.metrics")
        await peer.ws.close()
    assert asyncapi_mismatches(seen) == []


def test_prepared_statements_break_behind_transaction_pooling_and_db_pgbouncer_turns_them_off():
    """Two clients sharing PgBouncer's one server connection: psycopg's prepared statements
    (named per client connection) collide on the server; prepare_threshold=None does not."""
    import psycopg

    with PgBouncer(default_pool_size="1") as bouncer:
        url = bouncer.database_url()
        first, second = (psycopg.connect(url, autocommit=True, prepare_threshold=0) for _ in range(2))
        first.execute("SELECT %s::int", [1]).fetchone()
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            second.execute("SELECT %s::int", [2]).fetchone()
        first.close(), second.close()
        unprepared = [psycopg.connect(url, autocommit=True, prepare_threshold=None) for _ in range(2)]
        for _ in range(10):
            for conn in unprepared:
                assert conn.execute("SELECT %s::int", [3]).fetchone() == (3,)
        for conn in unprepared:
            conn.close()

    code = (
        "import django; django.setup(); from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['OPTIONS'].get('prepare_threshold', 'x'), d['DISABLE_SERVER_SIDE_CURSORS'])"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", "DB_PGBOUNCER": "1", "PATH": "/usr/bin:/bin"}
    probe = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert probe.stdout.split() == ["None", "True"], probe.stderr


def test_no_session_level_state_that_transaction_pooling_would_leak():
    """No session-level advisory lock (held on whichever server connection ran it) and no SET
    outside a transaction: only pg_advisory_xact_lock and SET TRANSACTION / SET CONSTRAINTS."""
    import re

    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {".venv", "tests", "var"} or "migrations" in path.parts:
            continue
        text = path.read_text()
        for pattern in (r"pg_(try_)?advisory_lock\(", r"""execute\(\s*["']SET (?!TRANSACTION|CONSTRAINTS|LOCAL)"""):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []
