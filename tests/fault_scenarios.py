"""The faults of tests/test_faults.py and bench/faults.py, each run against a live stack
(tests/faults.py) while pairs of users cycle full calls and other pairs sit in long calls.

A run: the cycling pairs go invite → accept → a message each way → end, over and over, on
sockets they never reopen unless the server closed them (then as the web client does, after a
pause; counted as reconnects). The fault is applied, lasts `seconds`, is healed; the load goes
on until every pair has completed a call after the heal (or `settle` seconds). Reported: the
writes acknowledged during the fault, how many of all acknowledged ones are lost or duplicated
in PostgreSQL, errors by code, the slowest answer while the fault lasted, the seconds from the
heal to the first full call, long calls that ended, reconnects, and /healthz failures."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass, field

import psutil

from tests.fault_clients import Outcomes, Refused, Socket, forget_cooldown, full_call, verify
from tests.faults import PostgresServer, RedisServer, Stack


@dataclass
class Report:
    fault: str
    seconds: float
    acked_during: int = 0
    acked_total: int = 0
    lost: int = 0
    duplicated: int = 0
    errors: dict = field(default_factory=dict)
    slowest_answer: float = 0.0
    first_call_after_heal: float | None = None
    long_calls_ended: int = 0
    reconnects: int = 0
    health_failures: int = 0
    details: dict = field(default_factory=dict)

    def row(self) -> str:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "none"
        first = "n/a" if self.first_call_after_heal is None else f"{self.first_call_after_heal:.1f}"
        return (
            f"| {self.fault} | {self.seconds:g} | {self.acked_during} | {self.lost} | {self.duplicated} | {errors} "
            f"| {self.slowest_answer:.1f} | {first} | {self.long_calls_ended} | {self.reconnects} |"
        )


HEADER = (
    "| fault | s | acked during | lost | duplicated | errors by code | slowest answer (s) "
    "| first full call after heal (s) | long calls ended | reconnects |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


class Load:
    """Cycling pairs, long calls, a /healthz poller, and a timed REST probe."""

    def __init__(
        self, stack: Stack, postgres: PostgresServer, users: list[tuple[str, str]], *, pairs: int, long_calls: int
    ):
        self.stack, self.postgres = stack, postgres
        sockets = [Socket(stack, user_id, token) for user_id, token in users]
        self.pairs = [(sockets[2 * i], sockets[2 * i + 1]) for i in range(pairs)]
        self.long = [(sockets[2 * (pairs + i)], sockets[2 * (pairs + i) + 1]) for i in range(long_calls)]
        self.out = Outcomes()
        self.long_rooms: list[str] = []
        self.reconnects = 0
        self.health_failures: list[float] = []
        self.rest: list[tuple[float, float, int | None, dict]] = []
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        for a, b in self.pairs + self.long:
            await a.open()
            await b.open()
        for a, b in self.long:
            invite = await a.request({"type": "call.invite", "to": b.user_id, "mode": "text", "seconds": 600})
            room = (await b.request({"type": "call.accept", "invite": invite["invite"], "seconds": 600}))["room"]
            self.long_rooms.append(room)
        self.tasks = [asyncio.create_task(self._cycle(a, b)) for a, b in self.pairs]
        self.tasks += [asyncio.create_task(self._keep(s)) for pair in self.long for s in pair]
        self.tasks.append(asyncio.create_task(self._poll_health()))
        self.tasks.append(asyncio.create_task(self._probe_rest()))

    async def _reopen(self, socket: Socket) -> None:
        """As the web client: a pause, then a new socket (room.resume comes if in a call)."""
        self.reconnects += 1
        pause = 1.0
        while not self.stop.is_set():
            await asyncio.sleep(pause)
            with contextlib.suppress(Exception):
                await socket.open()
                return
            pause = min(pause * 2, 8)

    async def _cycle(self, a: Socket, b: Socket) -> None:
        while not self.stop.is_set():
            for socket in (a, b):
                if socket.closed_with is not None:
                    socket.closed_with = None
                    await self._reopen(socket)
            try:
                await full_call(a, b, self.out, timeout=8)
            except Refused as exc:
                if exc.code != "on_cooldown":  # the load's own shortcut missed (below): not the server's
                    self.out.error(exc.code)
                await self._tidy(a, b)
            except (TimeoutError, ConnectionError, OSError) as exc:
                self.out.error("timeout" if isinstance(exc, TimeoutError) else "closed")
                await self._tidy(a, b)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(forget_cooldown, self.postgres, a.user_id, b.user_id), 3)

    async def _tidy(self, a: Socket, b: Socket) -> None:
        """After a cut call: end whatever room either is left in (a retry is harmless)."""
        await asyncio.sleep(0.5)
        if a.pending_invite:
            with contextlib.suppress(Exception):
                await a.request({"type": "call.cancel", "invite": a.pending_invite}, timeout=6)
            a.pending_invite = None
        for socket in (a, b):
            with contextlib.suppress(Exception):
                resume = await socket.request({"type": "room.resume"}, timeout=6)
                del resume
            while not socket.events.empty():
                event = socket.events.get_nowait()
                if event.get("type") == "room.resume":
                    with contextlib.suppress(Exception):
                        await socket.request({"type": "room.end", "room": event["room"]}, timeout=6)

    async def _keep(self, socket: Socket) -> None:
        """A member of a long call: heartbeats, and back in when the server closed the socket."""
        while not self.stop.is_set():
            if socket.closed_with is not None:
                socket.closed_with = None
                await self._reopen(socket)
            with contextlib.suppress(Exception):
                await socket.request({"type": "ping"}, timeout=6)
            await asyncio.sleep(2)

    async def _poll_health(self) -> None:
        while not self.stop.is_set():
            status = await asyncio.to_thread(self.stack.healthz)
            if status is None:
                self.health_failures.append(time.monotonic())
            await asyncio.sleep(0.5)

    async def _probe_rest(self) -> None:
        """GET /api/me every half second: (when asked, seconds, status, body)."""
        token = self.pairs[0][0].token
        while not self.stop.is_set():
            asked = time.monotonic()
            status, seconds, body = await asyncio.to_thread(self.stack.get, "/api/me", token)
            self.rest.append((asked, seconds, status, body))
            if status != 200:
                self.out.error(f"http_{status}" if status else "http_none")
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait(self.tasks, timeout=30)
        for task in self.tasks:
            task.cancel()
        for a, b in self.pairs + self.long:
            await a.close()
            await b.close()


def long_calls_ended(postgres: PostgresServer, rooms: list[str]) -> int:
    with postgres.connect() as conn:
        return conn.execute(
            "SELECT count(*) FROM active_rooms WHERE id = ANY(%s::uuid[]) AND status = 'ended'", [rooms]
        ).fetchone()[0]


def asgi_worker_pid(stack: Stack) -> int:
    master = psutil.Process(stack.children()["asgi"])
    return next(child.pid for child in master.children() if "multiprocessing" in " ".join(child.cmdline()))


async def run_fault(
    name: str,
    stack: Stack,
    postgres: PostgresServer,
    redis: RedisServer,
    users: list[tuple[str, str]],
    *,
    seconds: float,
    pairs: int,
    long_calls: int,
    settle: float = 30,
) -> Report:
    """Apply one fault under load; returns its Report (the stack is left serving)."""
    load = Load(stack, postgres, users, pairs=pairs, long_calls=long_calls)
    await load.start()
    await asyncio.sleep(2)  # the load running before the fault
    fault_start = time.monotonic()
    if name == "redis_restart_empty":
        redis.kill()
        await asyncio.sleep(seconds)
        redis.start()
    elif name == "redis_freeze":
        redis.freeze()
        await asyncio.sleep(seconds)
        redis.thaw()
    elif name == "celery_kill":
        stack.kill_child("beat")
        stack.kill_child("worker")
        await asyncio.sleep(seconds)
    elif name == "asgi_worker_kill":
        psutil.Process(asgi_worker_pid(stack)).kill()
        await asyncio.sleep(seconds)
    elif name == "pg_freeze":
        postgres.freeze()
        await asyncio.sleep(seconds)
        postgres.thaw()
    elif name == "pg_restart_fast":
        postgres.kill()
        postgres.start()
    elif name == "pg_down":
        postgres.kill()
        await asyncio.sleep(seconds)
        postgres.start()
    elif name == "stack_restart":
        await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(stack.start)
    else:
        raise ValueError(name)
    healed = time.monotonic()
    deadline = healed + settle
    while time.monotonic() < deadline:
        done_after = [t for t in load.out.calls if t > healed]
        if len(done_after) >= len(load.pairs):
            break
        await asyncio.sleep(0.25)
    ended = await asyncio.to_thread(long_calls_ended, postgres, load.long_rooms)
    for (a, b), room in zip(load.long, load.long_rooms, strict=True):  # the next run starts its own
        with contextlib.suppress(Exception):
            await a.request({"type": "room.end", "room": room}, timeout=10)
        await asyncio.to_thread(forget_cooldown, postgres, a.user_id, b.user_id)
    await load.close()
    outcome = await asyncio.to_thread(verify, postgres, load.out)
    first = [t for t in load.out.calls if t > healed]
    if name in ("pg_restart_fast", "stack_restart"):
        seconds = round(healed - fault_start, 1)  # how long the restart took
    report = Report(
        fault=name,
        seconds=seconds,
        acked_during=sum(1 for t, _, _ in load.out.acked if fault_start <= t <= healed),
        acked_total=len(load.out.acked),
        lost=len(outcome["lost"]),
        duplicated=len(outcome["duplicated"]),
        errors=dict(collections.Counter(code for _, code in load.out.errors)),
        slowest_answer=max(
            [s for a, b in load.pairs for t, s in a.timings + b.timings if fault_start <= t <= healed]
            + [s for t, s, _, _ in load.rest if fault_start <= t <= healed],
            default=0.0,
        ),
        first_call_after_heal=(min(first) - healed) if first else None,
        long_calls_ended=ended,
        reconnects=load.reconnects,
        health_failures=len(load.health_failures),
        details={
            "lost": outcome["lost"][:5],
            "duplicated": outcome["duplicated"][:5],
            "slowest_ws": sorted(
                (round(s, 1), kind)
                for a, b in load.pairs
                for t, s, kind in a.asked + b.asked
                if fault_start <= t <= healed
            )[-3:],
            "rest_during": [
                (round(s, 2), status, body.get("error", body).get("code") if body else None)
                for t, s, status, body in load.rest
                if fault_start <= t <= healed
            ][:40],
        },
    )
    return report
