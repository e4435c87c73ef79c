#!/usr/bin/env python
"""Realtime benchmark against a running stack (`make run`), run with `make bench`.

Creates N bench users (directly in the database, with sessions), connects N WebSockets to
/ws/, marks everyone available, then drives rounds of call cycles between disjoint pairs:
invite → call.incoming → accept → room.start (both) → M chat messages each way → room.end.
Prints p50/p99 of invite→room.start (caller's view) and message→delivery, and cycles/s; with
METRICS_TOKEN set (the same as the stack's), also each hot operation's calls and mean
server-side latency read from the stack's /metrics.

    make bench ARGS="--sockets 500 --rounds 3 --messages 2"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DB_POOL_MAX"] = "0"  # this process: one plain connection (bench/limits.py traces it)

import django

django.setup()

import websockets  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services.sessions import start_session  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import limits  # noqa: E402

MESSAGE_SPACING_SECONDS = 1.6  # the server allows one message per 1.5 s per user
ROOT = Path(__file__).resolve().parent.parent
PIDS_FILE = ROOT / "var" / "stack.pids"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                queue.extend(int(c) for c in (task / "children").read_text().split())
    return found


def asgi_pids() -> list[int]:
    """The ASGI server's processes (uvicorn's supervisor and its workers), from the pids the
    stack writes under var/ (scripts/stack.py)."""
    if not PIDS_FILE.exists():
        return []
    for line in PIDS_FILE.read_text().splitlines():
        name, pid = line.split()
        if name == "asgi" and Path(f"/proc/{pid}").exists():
            return _descendants(int(pid))
    return []


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (/proc/<pid>/stat fields 14 and 15)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def server_debug(pids: list[int]) -> bool | None:
    """Whether the ASGI server runs with DEBUG on (from its environment), None if unknown."""
    for pid in pids:
        try:
            environ = dict(
                item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
            )
        except OSError:
            continue
        return environ.get("DEBUG", "").lower() in ("1", "true", "yes", "on")
    return None


def database_connections() -> int:
    """Client connections to this database right now (pg_stat_activity), this process excluded."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


async def sample_connections(stats: dict) -> None:
    """The most PostgreSQL connections seen during the run (every 0.5 s)."""
    while True:
        count = await sync_to_async(database_connections)()
        stats["max_connections"] = max(stats.get("max_connections", 0), count)
        await asyncio.sleep(0.5)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def create_users(count: int, run: str) -> list[tuple[User, str]]:
    users = User.objects.bulk_create(
        [
            User(
                name=f"bench {run} {i}",
                account_type=User.AccountType.GUEST,
                account_expires_at=django.utils.timezone.now() + User.GUEST_LIFETIME,
                access_status=User.AccessStatus.QR_GRACE_PERIOD,
            )
            for i in range(count)
        ]
    )
    return [(user, start_session(user, ip="127.0.0.1")) for user in users]


def cleanup(run: str) -> None:
    User.objects.filter(name__startswith=f"bench {run} ").delete()


class Client:
    def __init__(self, user: User, token: str):
        self.user, self.token = user, token
        self.ws = None
        self.waiters: dict[str, list[asyncio.Future]] = {}
        self.inbox: list[dict] = []

    async def connect(self, url: str):
        self.ws = await websockets.connect(url, max_size=2**20, open_timeout=60)
        self.reader = asyncio.ensure_future(self._reader())
        await self.request({"type": "auth", "token": self.token})
        await self.request({"type": "presence.set", "available": True})

    async def _reader(self):
        try:
            async for raw in self.ws:
                event = json.loads(raw)
                key = event.get("id") if event.get("type") in ("ack", "error") else event.get("type")
                futures = self.waiters.get(key) or []
                if futures:
                    future = futures.pop(0)
                    if not future.done():
                        future.set_result((time.perf_counter(), event))
        except websockets.ConnectionClosed:
            pass

    def expect(self, key: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(key, []).append(future)
        return future

    async def request(self, message: dict, timeout: float = 30) -> dict:
        message = {**message, "id": uuid.uuid4().hex[:16]}
        reply = self.expect(message["id"])
        await self.ws.send(json.dumps(message))
        _, event = await asyncio.wait_for(reply, timeout)
        if event["type"] == "error":
            raise RuntimeError(f"{message['type']}: {event['code']} {event['message']}")
        return event


async def cycle(caller: Client, callee: Client, messages: int, stats: dict) -> None:
    incoming = callee.expect("call.incoming")
    started = caller.expect("room.start")
    t0 = time.perf_counter()
    ack = await caller.request({"type": "call.invite", "to": str(callee.user.pk), "mode": "text", "seconds": 60})
    await asyncio.wait_for(incoming, 30)
    await callee.request({"type": "call.accept", "invite": ack["invite"], "seconds": 60})
    t_start, room_event = await asyncio.wait_for(started, 30)
    stats["invite_to_room_start"].append(t_start - t0)
    room = room_event["room"]
    for i in range(messages):
        for sender, receiver in ((caller, callee), (callee, caller)):
            delivered = receiver.expect("chat.message")
            t_send = time.perf_counter()
            await sender.request({"type": "chat.message", "room": room, "client_id": f"m{i}", "text": f"hello {i}"})
            t_recv, _ = await asyncio.wait_for(delivered, 30)
            stats["message_to_delivery"].append(t_recv - t_send)
        await asyncio.sleep(MESSAGE_SPACING_SECONDS)
    ended = callee.expect("room.ended")
    await caller.request({"type": "room.end", "room": room})
    await asyncio.wait_for(ended, 30)
    stats["cycles"] += 1


async def open_loop(clients: list[Client], args, stats: dict) -> None:
    """Offer `--rate` calls per second for `--duration` seconds between idle sockets (each pair
    at most once: a finished pair is on cooldown), whatever the server's pace (open loop)."""
    import random

    idle = set(range(len(clients)))
    used: set[tuple[int, int]] = set()
    tasks = []
    rng = random.Random(1)

    async def one(i: int, j: int):
        try:
            await cycle(clients[i], clients[j], args.messages, stats)
        except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
            stats["errors"] += 1
            stats.setdefault("first_error", repr(exc))
        finally:
            idle.update((i, j))

    interval = 1.0 / args.rate
    start = time.perf_counter()
    offered = 0
    while time.perf_counter() - start < args.duration:
        target = start + offered * interval
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        offered += 1
        candidates = rng.sample(sorted(idle), min(len(idle), 40)) if len(idle) >= 2 else []
        pair = next(
            ((i, j) for i in candidates for j in candidates if i != j and (min(i, j), max(i, j)) not in used), None
        )
        if pair is None:
            stats["not_offered"] = stats.get("not_offered", 0) + 1
            continue
        i, j = pair
        used.add((min(i, j), max(i, j)))
        idle.difference_update(pair)
        tasks.append(asyncio.ensure_future(one(i, j)))
    stats["offered"] = offered
    await asyncio.gather(*tasks)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def scrape(url: str) -> dict | None:
    """The stack's /metrics (METRICS_TOKEN set), or None: the server-side per-operation figures."""
    import urllib.request

    token = os.environ.get("METRICS_TOKEN")
    if not token:
        return None
    base = url.replace("ws://", "http://").replace("wss://", "https://").removesuffix("/ws/")
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - http(s) from --url
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def print_server_operations(before: dict | None, after: dict | None) -> None:
    """Per hot operation, from the stack's own metrics: calls and mean server-side latency."""
    if before is None or after is None:
        return
    for operation in ("auth", "invite", "accept", "message", "end"):
        key = (("operation", operation),)
        calls = sum(
            v - before.get((n, labels), 0.0)
            for (n, labels), v in after.items()
            if n == "rdv_operations_total" and dict(labels).get("operation") == operation
        )
        total = after.get(("rdv_operation_duration_seconds_sum", key), 0.0) - before.get(
            ("rdv_operation_duration_seconds_sum", key), 0.0
        )
        mean = f"{total / calls * 1000:.1f}ms" if calls else "-"
        print(f"server {operation}: calls={calls:.0f} mean={mean} (rdv_operation_duration_seconds)")


async def main(args) -> int:
    run = uuid.uuid4().hex[:6]
    metrics_before = await sync_to_async(scrape)(args.url)
    print(f"creating {args.sockets} users …", flush=True)
    pairs = await sync_to_async(create_users)(args.sockets, run)
    clients = [Client(user, token) for user, token in pairs]
    try:
        t0 = time.perf_counter()
        for batch in range(0, len(clients), 50):
            await asyncio.gather(*(c.connect(args.url) for c in clients[batch : batch + 50]))
        print(f"connected {len(clients)} sockets in {time.perf_counter() - t0:.1f}s", flush=True)
        half = len(clients) // 2
        stats = {"invite_to_room_start": [], "message_to_delivery": [], "cycles": 0, "errors": 0}
        pids = asgi_pids()
        if pids and server_debug(pids):
            print("!" * 78 + "\nThe server runs with DEBUG on: its figures mean nothing (queries are logged,")
            print("responses carry debug data). Start it with DEBUG=0 make run." + "\n" + "!" * 78, flush=True)
            if not args.allow_debug:
                return 2
        if not pids:
            print("WARNING: no ASGI pids in var/stack.pids: server CPU time is not measured", flush=True)
        cpu_before = cpu_seconds(pids)
        sampler = asyncio.ensure_future(sample_connections(stats))
        t_run = time.perf_counter()
        if args.rate:
            await open_loop(clients, args, stats)
        else:
            for round_no in range(args.rounds):
                # Disjoint pairs with a new partner each round (a finished pair is on cooldown).
                tasks = [
                    cycle(clients[i], clients[half + (i + round_no) % half], args.messages, stats) for i in range(half)
                ]
                results = await asyncio.gather(*tasks, return_exceptions=True)
                errors = [r for r in results if isinstance(r, Exception)]
                stats["errors"] += len(errors)
                if errors:
                    print(f"round {round_no}: {len(errors)} errors, e.g. {errors[0]!r}", flush=True)
        elapsed = time.perf_counter() - t_run
        cpu = cpu_seconds(pids) - cpu_before
        sampler.cancel()
        for name in ("invite_to_room_start", "message_to_delivery"):
            values = stats[name]
            print(
                f"{name}: n={len(values)} p50={percentile(values, 50) * 1000:.1f}ms "
                f"p99={percentile(values, 99) * 1000:.1f}ms mean={statistics.fmean(values) * 1000:.1f}ms"
                if values
                else f"{name}: no samples"
            )
        print(f"cycles: {stats['cycles']} in {elapsed:.1f}s = {stats['cycles'] / elapsed:.2f} cycles/s")
        print(f"errors: {stats['errors']}" + (f" (first: {stats['first_error']})" if "first_error" in stats else ""))
        if args.rate:
            print(f"open loop: offered {stats.get('offered', 0)} calls at {args.rate}/s over {len(clients)} sockets"
                  f" ({stats.get('not_offered', 0)} found no idle pair)")  # fmt: skip
        if pids and stats["cycles"]:
            print(
                f"server CPU: {cpu:.2f}s over {len(pids)} ASGI processes = {cpu / stats['cycles'] * 1000:.1f} ms/cycle"
            )
        print(f"PostgreSQL connections (the stack's, all processes): at most {stats.get('max_connections')} in the run")
        print(f"load average: {loadavg()}", flush=True)
        if not args.no_floor:
            floor = await sync_to_async(limits.measure_floor)()
            messages_per_s = len(stats["message_to_delivery"]) / elapsed
            print(
                f"floor (same run): INSERT+COMMIT {floor['insert_commit_per_s']:.0f}/s "
                f"(p99 {floor['insert_commit_p99_ms']:.1f} ms), one-statement accept "
                f"{floor['one_statement_accept_per_s']:.0f}/s (p99 {floor['one_statement_accept_p99_ms']:.1f} ms)"
            )
            print(
                f"ratios: messages persisted+delivered {messages_per_s:.0f}/s = "
                f"{messages_per_s / floor['insert_commit_per_s']:.1%} of INSERT+COMMIT; "
                f"accepts {stats['cycles'] / elapsed:.1f}/s = "
                f"{stats['cycles'] / elapsed / floor['one_statement_accept_per_s']:.1%} of the one-statement accept"
            )
            if stats["invite_to_room_start"]:
                p99 = percentile(stats["invite_to_room_start"], 99) * 1000
                print(f"ratio: invite→room.start p99 {p99:.1f} ms = "
                      f"{p99 / floor['one_statement_accept_p99_ms']:.1f}× the one-statement accept's p99")  # fmt: skip
            print(f"load average: {loadavg()}")
        print_server_operations(metrics_before, await sync_to_async(scrape)(args.url))
        return 0 if stats["errors"] == 0 else 1
    finally:
        for client in clients:
            if client.ws is not None:
                await client.ws.close()
        await sync_to_async(cleanup)(run)  # cascades to their rooms, messages and cooldowns


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("BENCH_WS_URL", "ws://127.0.0.1:8000/ws/"))
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=2, help="messages each way per call")
    parser.add_argument("--rate", type=float, default=0, help="open loop: calls offered per second (0: burst)")
    parser.add_argument("--duration", type=float, default=30, help="open loop: seconds of offered calls")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement (bench/limits.py)")
    parser.add_argument("--allow-debug", action="store_true", help="run against a DEBUG server anyway")
    sys.exit(asyncio.run(main(parser.parse_args())))
