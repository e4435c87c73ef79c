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
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import websockets  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services.sessions import start_session  # noqa: E402

MESSAGE_SPACING_SECONDS = 1.6  # the server allows one message per 1.5 s per user


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
        t_run = time.perf_counter()
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
        for name in ("invite_to_room_start", "message_to_delivery"):
            values = stats[name]
            print(
                f"{name}: n={len(values)} p50={percentile(values, 50) * 1000:.1f}ms "
                f"p99={percentile(values, 99) * 1000:.1f}ms mean={statistics.fmean(values) * 1000:.1f}ms"
                if values
                else f"{name}: no samples"
            )
        print(f"cycles: {stats['cycles']} in {elapsed:.1f}s = {stats['cycles'] / elapsed:.2f} cycles/s")
        print(f"errors: {stats['errors']}")
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
    sys.exit(asyncio.run(main(parser.parse_args())))
