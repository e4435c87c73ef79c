#!/usr/bin/env python
"""Restart under load against a running stack (`make run`, not DEBUG, 2 or more ASGI workers on
one port), run with `make bench ARGS="restart_under_load …"`.

Creates N users with sessions, connects one socket per user (auth, then presence.set), starts
`--rooms` calls between pairs of them over the protocol (invite, accept, one message each), then
sends SIGTERM to one uvicorn worker. Its sockets close (1012); each of those clients reconnects
as the web client does (static/rdv/app.js: a random 0.5–1× of a backoff that doubles from 1 s,
at least `retry_after` after a 4013) to the same port, where the other worker (and the one
uvicorn starts in place of the stopped one) takes it, and signs in with `since`. Meanwhile the
partner left on the live worker sends a message into each call. Printed:

- sockets closed by the SIGTERM, their close codes, and the time from the SIGTERM until each
  was signed in again (p50/p99/max);
- calls hit (a member on the stopped worker), calls resumed (every such member got
  room.resume, with every message of the call, the one sent during the restart included),
  and calls still live with both members connected in the database afterwards;
- ERROR/Traceback lines the server log gained, server CPU, and the load average.

    PORT=8014 DEBUG=0 make run > var/run.log 2>&1 &
    make bench ARGS="restart_under_load --url ws://127.0.0.1:8014 --sockets 1000 --rooms 100 --log var/run.log"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connect_burst import (
    cleanup,
    cpu_seconds,
    create_users,
    loadavg,
    percentile,
    print_log_errors,
    server_processes,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat.models import ActiveRoom

TIMEOUT = 60


class Client:
    def __init__(self, user_id: str, token: str):
        self.user_id, self.token = user_id, token
        self.ws = None
        self.frames: asyncio.Queue = asyncio.Queue()
        self.close_code = None
        self.closed = asyncio.Event()
        self.room: str | None = None
        self.reader: asyncio.Task | None = None

    async def open(self, url: str, since: int | None = None) -> dict:
        self.ws = await connect(url, open_timeout=TIMEOUT, close_timeout=2, max_size=2**22)
        self.frames, self.close_code = asyncio.Queue(), None
        self.closed.clear()
        self.reader = asyncio.ensure_future(self._read())
        auth = {"type": "auth", "token": self.token, **({"since": since} if since is not None else {})}
        return await self.request(auth, "auth")

    async def _read(self):
        try:
            async for raw in self.ws:
                await self.frames.put(json.loads(raw))
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else 1006
        await self.frames.put({"type": "_closed", "code": self.close_code})
        self.closed.set()

    async def next(self, kind: str, **match) -> dict:
        while True:
            frame = await asyncio.wait_for(self.frames.get(), TIMEOUT)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            if frame["type"] == "closing" and kind == "ack":
                return frame
            if frame["type"] == "error" and kind == "ack" and frame.get("id") == match.get("id"):
                return frame
            if frame["type"] == "_closed" and kind != "_closed":
                raise ConnectionError(f"closed {frame['code']} while waiting for {kind}")

    async def request(self, message: dict, request_id: str) -> dict:
        await self.ws.send(json.dumps({**message, "id": request_id}))
        return await self.next("ack", id=request_id)


async def start_call(n: int, a: Client, b: Client) -> tuple[str, list[int]]:
    await a.request({"type": "presence.set", "available": True}, "p")
    await b.request({"type": "presence.set", "available": True}, "p")
    invite = await a.request({"type": "call.invite", "to": b.user_id, "mode": "text", "seconds": 900}, "i")
    await b.next("call.incoming", invite=invite["invite"])
    room = (await b.request({"type": "call.accept", "invite": invite["invite"], "seconds": 900}, "c"))["room"]
    sent = await a.request({"type": "chat.message", "room": room, "client_id": f"m{n}", "text": f"hi {n}"}, "m")
    a.room = b.room = room
    return room, [sent["message_id"]]


async def reconnect(client: Client, url: str, killed_at: float) -> float:
    """As the web client: jittered, doubling backoff; after a 4013 at least its retry_after."""
    backoff, wait = 1.0, 0.0
    while True:
        await asyncio.sleep(wait + random.uniform(0.5, 1.0) * backoff)
        try:
            ack = await client.open(url, since=0)
        except (OSError, ConnectionError, TimeoutError, ConnectionClosed):
            backoff, wait = min(30.0, backoff * 2), 0.0
            continue
        if ack["type"] == "ack":
            return time.perf_counter() - killed_at
        wait, backoff = float(ack.get("retry_after") or 0), min(30.0, backoff * 2)


def room_states(room_ids) -> dict[str, tuple]:
    fields = ("pk", "status", "user_1_connected", "user_2_connected")
    return {str(pk): rest for pk, *rest in ActiveRoom.objects.filter(pk__in=room_ids).values_list(*fields)}


async def scenario(args, users, worker) -> dict:
    url = args.url.rstrip("/") + "/ws/"
    clients = [Client(str(u.pk), token) for u, token in users]
    for start in range(0, len(clients), 200):  # in slices: the burst itself is connect_burst's subject
        await asyncio.gather(*(c.open(url) for c in clients[start : start + 200]))
    calls = await asyncio.gather(*(start_call(n, clients[2 * n], clients[2 * n + 1]) for n in range(args.rooms)))
    messages = dict(calls)
    members = {room: (clients[2 * n], clients[2 * n + 1]) for n, (room, _) in enumerate(calls)}
    print(f"  {len(clients)} sockets signed in, {len(calls)} calls live; loadavg {loadavg()}", flush=True)

    killed_at = time.perf_counter()
    os.kill(worker.pid, signal.SIGTERM)
    await asyncio.sleep(1.0)  # the worker's sockets close within its shutdown
    hit = [c for c in clients if c.closed.is_set()]
    codes = collections.Counter(c.close_code for c in hit)
    # Each call's member still connected says something while the other one is away.
    for room, (a, b) in members.items():
        if a.closed.is_set() != b.closed.is_set():
            speaker = b if a.closed.is_set() else a
            message = {"type": "chat.message", "room": room, "client_id": f"r-{room}", "text": "still here?"}
            sent = await speaker.request(message, "r")
            if sent.get("code") == "too_fast":  # the call's last message was under 1.5 s ago
                await asyncio.sleep(float(sent.get("retry_after") or 1.5))
                sent = await speaker.request(message, "r")
            if sent["type"] != "ack":
                raise RuntimeError(f"the partner's message during the restart was refused: {sent}")
            messages[room].append(sent["message_id"])
    times = await asyncio.gather(*(reconnect(c, url, killed_at) for c in hit))
    resumed, hit_rooms = 0, {c.room for c in hit if c.room}
    for room in hit_rooms:
        ok = True
        for member in members[room]:
            if member in hit:
                try:
                    frame = await member.next("room.resume", room=room)
                except (TimeoutError, ConnectionError):
                    ok = False
                    continue
                ok &= sorted(m["message_id"] for m in frame["messages"]) == sorted(messages[room])
        resumed += ok
    states = await asyncio.to_thread(room_states, list(members))
    await asyncio.sleep(3)
    later = await asyncio.to_thread(room_states, list(members))
    for c in clients:
        await c.ws.close()
    return {
        "hit": hit,
        "codes": codes,
        "times": times,
        "rooms": members,
        "hit_rooms": hit_rooms,
        "resumed": resumed,
        "states": states,
        "later": later,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the stack (ws://host:port)")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=100, help="calls between pairs of the sockets")
    parser.add_argument("--log", help="the server's log file: ERROR/Traceback lines it gains are counted")
    args = parser.parse_args()
    port = urlsplit(args.url).port or 80
    procs = server_processes(port)
    workers = [p for p in procs[1:] if "spawn_main" in " ".join(p.cmdline())]
    if len(workers) < 2:
        raise SystemExit("restart_under_load needs a stack with 2 or more ASGI workers (ASGI_WORKERS)")
    run = uuid.uuid4().hex[:8]
    print(f"restart_under_load: {args.sockets} sockets, {args.rooms} calls, SIGTERM of worker {workers[0].pid}")
    print(f"  loadavg before {loadavg()}; workers {[p.pid for p in workers]}")
    users = create_users(args.sockets, run)
    log_start = Path(args.log).stat().st_size if args.log else 0
    try:
        survivors = [p for p in procs if p.pid != workers[0].pid]
        cpu_before = cpu_seconds(survivors)
        result = asyncio.run(scenario(args, users, workers[0]))
        cpu = cpu_seconds(survivors) - cpu_before
    finally:
        cleanup(run)
    hit, times, states = result["hit"], result["times"], result["states"]
    print(f"  sockets closed by the SIGTERM: {len(hit)} of {args.sockets}; close codes {dict(result['codes'])}")
    if times:
        print(
            f"  SIGTERM → signed in again: all {len(times)} after {max(times):.1f} s"
            f" (p50 {percentile(times, 0.5):.1f} s, p99 {percentile(times, 0.99):.1f} s)"
        )
    live = [room for room, (status, one, two) in states.items() if status == ActiveRoom.Status.ACTIVE and one and two]
    print(
        f"  calls: {len(result['rooms'])}, hit {len(result['hit_rooms'])}, resumed with every message"
        f" {result['resumed']} of {len(result['hit_rooms'])}; live with both connected afterwards"
        f" {len(live)} of {len(result['rooms'])}"
    )
    for room, state in states.items():
        if room not in live:
            print(f"  not live with both connected: {room} {state}, 3 s later {result['later'].get(room)}")
    alive = [p for p in server_processes(port)[1:] if "spawn_main" in " ".join(p.cmdline())]
    print(f"  workers afterwards: {[p.pid for p in alive]} (uvicorn starts one in place of the stopped one)")
    print(f"  server CPU of the processes that lived through it (set-up included): {cpu:.1f} s")
    if args.log:
        print_log_errors(args.log, log_start)
    print(f"  loadavg after {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
