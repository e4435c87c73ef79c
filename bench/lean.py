#!/usr/bin/env python
"""What the whole `make run` stack costs, in one run against it (`make bench ARGS="lean …"`):

1. PSS at rest: the sum of /proc/<pid>/smaps_rollup Pss over every process of the stack (the
   supervisor, uvicorn and its workers, the Celery worker and its children, beat), the embedded
   PostgreSQL and Redis left out (they are the database, not the app).
2. Sign-up burst: --signups guest sign-ups through POST /api/auth/signup, --concurrency at a
   time (keep-alive connections), each answered 201 with its session (every fact committed):
   the time, the rate and the whole-stack CPU per sign-up.
3. Idle sockets: --sockets of those guests connect a WebSocket and authenticate; the stack's
   PSS while it holds them.
4. Call cycles at each N of --cycle-users (100 and 1,000 by default): N more guests sign up,
   connect, and pair off in the same instant for --rounds rounds of invite → accept →
   --messages messages each way → end. Whole-stack CPU per cycle with sign-up and connect
   included, and split by phase (sign-up, connect with its presence flush, the calls); cycles
   completed; invite→room.start and message→delivery p50/p99; the stack's Redis commands per
   cycle (INFO commandstats: a count, which the machine's load does not move).
5. With --health-burst S: /healthz while S sockets connect at once (bench/health_burst.py's
   `run(url, sockets)`, when that module is present).

Every figure carries the load average of its moment (the machine is shared). The stack must run
with DEBUG=0, open sign-up is switched on for the run (and restored), and the sign-up throttle
must let a burst from one address through: start it with

    DEBUG=0 RATE_SIGNUP=1000000/h make run
    make bench ARGS="lean --signups 1000 --sockets 1000 --cycle-users 100,1000"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realtime
from asgiref.sync import sync_to_async

from accounts.models import SiteSettings, User

PREFIX = "lean"


def stack_pids() -> dict[str, list[int]]:
    """The stack's processes by role: the supervisor (parent of the children it wrote to
    var/stack.pids) and each child with its descendants."""
    roles: dict[str, list[int]] = {}
    if not realtime.PIDS_FILE.exists():
        return roles
    supervisor = None
    for line in realtime.PIDS_FILE.read_text().splitlines():
        name, pid = line.split()
        if not Path(f"/proc/{pid}").exists():
            continue
        roles[name] = realtime._descendants(int(pid))
        if supervisor is None:
            status = Path(f"/proc/{pid}/status").read_text()
            supervisor = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
    if supervisor:
        roles["supervisor"] = [supervisor]
    return roles


def all_pids() -> list[int]:
    return [pid for pids in stack_pids().values() for pid in pids]


def pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


def pss_report(label: str) -> float:
    roles = stack_pids()
    parts = ", ".join(f"{name} {pss_mb(pids):.0f} ({len(pids)})" for name, pids in roles.items())
    total = pss_mb([pid for pids in roles.values() for pid in pids])
    count = sum(len(p) for p in roles.values())
    print(f"PSS {label}: {total:.0f} MB over {count} processes [{parts}]  load {realtime.loadavg()}", flush=True)
    return total


def set_open_signup(value: bool) -> bool:
    row, _ = SiteSettings.objects.get_or_create(id=1)
    before = row.open_signup
    SiteSettings.objects.filter(id=1).update(open_signup=value)
    return before


def sign_up_burst(base: str, count: int, concurrency: int, run: str, start: int = 0) -> tuple[list[tuple], dict]:
    """`count` sign-ups over `concurrency` keep-alive connections; returns (user id, token) pairs."""
    parts = urlsplit(base)
    results: list[tuple] = []
    failures: dict[int, int] = {}
    lock = threading.Lock()
    numbers = iter(range(start, start + count))

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        while True:
            with lock:
                i = next(numbers, None)
            if i is None:
                break
            body = json.dumps({"name": f"{PREFIX} {run} {i}", "gender": "female", "terms_accepted": True})
            conn.request("POST", "/api/auth/signup", body, {"Content-Type": "application/json"})
            answer = conn.getresponse()
            data = answer.read()
            with lock:
                if answer.status == 201:
                    payload = json.loads(data)
                    results.append((payload["user"]["id"], payload["token"]))
                else:
                    failures[answer.status] = failures.get(answer.status, 0) + 1
        conn.close()

    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return results, failures


def warm_up(base: str) -> None:
    """What every process loads on its first requests (URL conf, views, serializers), loaded
    before "at rest" is measured: memory at rest is that of a stack that has served."""
    import urllib.request

    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as answer:  # noqa: S310 - http from --url
        answer.read()
    sign_up_burst(base, 1, 1, "warm")
    User.objects.filter(name__startswith=f"{PREFIX} warm ").delete()
    time.sleep(1)


class Guest(realtime.Client):
    def __init__(self, user_id: str, token: str):
        super().__init__(user=type("U", (), {"pk": user_id})(), token=token)


async def connect_all(url: str, guests: list[Guest]) -> float:
    t0 = time.perf_counter()
    for batch in range(0, len(guests), 50):
        await asyncio.gather(*(g.connect(url) for g in guests[batch : batch + 50]))
    return time.perf_counter() - t0


async def close_all(guests: list[Guest]) -> None:
    await asyncio.gather(*(g.ws.close() for g in guests if g.ws is not None), return_exceptions=True)


def redis_commands() -> dict[str, int]:
    """Commands the stack's Redis has run so far, by command (INFO commandstats): counts do not
    move with the machine's load, so they compare two versions where CPU time cannot."""
    from config.ratelimit import redis_client

    stats = redis_client().info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


class StackCpu:
    """Whole-stack CPU time since creation, in total and by role (asgi, worker, beat, supervisor)."""

    def __init__(self):
        self.roles = stack_pids()
        self.start = {name: realtime.cpu_seconds(pids) for name, pids in self.roles.items()}

    def spent(self) -> tuple[float, str]:
        parts = {name: realtime.cpu_seconds(pids) - self.start[name] for name, pids in self.roles.items()}
        return sum(parts.values()), " ".join(f"{name} {cpu:.2f}s" for name, cpu in parts.items())


def timed_signups(base: str, count: int, concurrency: int, run: str, start: int = 0):
    cpu, t0 = StackCpu(), time.perf_counter()
    made, failures = sign_up_burst(base, count, concurrency, run, start)
    elapsed = time.perf_counter() - t0
    total, parts = cpu.spent()
    return made, failures, elapsed, total, parts


async def main(args) -> int:
    base = args.url.replace("ws://", "http://").removesuffix("/ws/")
    roles = stack_pids()
    if not roles:
        print("no stack found (var/stack.pids): start `DEBUG=0 RATE_SIGNUP=1000000/h make run` first")
        return 2
    if realtime.server_debug(roles.get("asgi", [])) and not args.allow_debug:
        print("The server runs with DEBUG on: its figures mean nothing. Start it with DEBUG=0 make run.")
        return 2
    run = uuid.uuid4().hex[:6]
    was_open = await sync_to_async(set_open_signup)(True)
    guests: list[Guest] = []
    try:
        await sync_to_async(warm_up)(base)
        pss_report("at rest (after a first sign-up and /healthz)")
        if args.signups:
            made, failures, elapsed, cpu, parts = await sync_to_async(timed_signups)(
                base, args.signups, args.concurrency, run
            )
            print(
                f"sign-up: {len(made)} of {args.signups} in {elapsed:.2f}s at {args.concurrency} concurrent = "
                f"{len(made) / elapsed:.0f}/s; whole-stack CPU {cpu:.2f}s = "
                f"{cpu / max(1, len(made)) * 1000:.1f} ms/sign-up [{parts}]"
                f"{f'; refused {failures}' if failures else ''}  load {realtime.loadavg()}",
                flush=True,
            )
            guests = [Guest(*pair) for pair in made[: args.sockets]]
        if guests:
            pids = all_pids()
            cpu0 = realtime.cpu_seconds(pids)
            took = await connect_all(args.url, guests)
            cpu = realtime.cpu_seconds(pids) - cpu0
            print(
                f"connect: {len(guests)} sockets (auth + presence) in {took:.1f}s; whole-stack CPU "
                f"{cpu / len(guests) * 1000:.1f} ms/socket  load {realtime.loadavg()}",
                flush=True,
            )
            await asyncio.sleep(2)
            pss_report(f"holding {len(guests)} idle sockets")
            await close_all(guests)
            guests = []
        for users in args.cycle_users:
            await cycles(args, base, run, users)
        if args.health_burst:
            await health_during_burst(args)
        return 0
    finally:
        await close_all(guests)
        await sync_to_async(set_open_signup)(was_open)
        await sync_to_async(lambda: User.objects.filter(name__startswith=f"{PREFIX} {run} ").delete())()


async def cycles(args, base: str, run: str, users: int) -> dict:
    """`users` guests sign up, connect and pair off in the same instant for --rounds rounds.
    The whole-stack CPU is split by phase (sign-up, connect with its presence flush, the calls)
    so that each part's cost per cycle is read from one run."""
    n = users - users % 2
    stack_cpu, t0 = StackCpu(), time.perf_counter()
    phases = {}
    made, failures, *_ = await sync_to_async(timed_signups)(base, n, args.concurrency, run, start=10**6 * n)
    phases["sign-up"] = stack_cpu.spent()[0]
    guests = [Guest(*pair) for pair in made]
    try:
        await connect_all(args.url, guests)
        await asyncio.sleep(1.5)  # the presence batch's flush (one a second) lands in this phase
        phases["connect"] = stack_cpu.spent()[0] - sum(phases.values())
        stats = {"invite_to_room_start": [], "message_to_delivery": [], "cycles": 0, "errors": 0}
        half = len(guests) // 2
        commands_before = await sync_to_async(redis_commands)()
        for round_no in range(args.rounds):
            tasks = [
                realtime.cycle(guests[i], guests[half + (i + round_no) % half], args.messages, stats)
                for i in range(half)
            ]
            results = await asyncio.gather(*tasks, return_exceptions=True)
            errors = [r for r in results if isinstance(r, Exception)]
            stats["errors"] += len(errors)
            if errors:
                print(f"round {round_no}: {len(errors)} errors, e.g. {errors[0]!r}", flush=True)
        elapsed = time.perf_counter() - t0
        cpu, parts = stack_cpu.spent()
        phases["calls"] = cpu - sum(phases.values())
        commands_after = await sync_to_async(redis_commands)()
    finally:
        await close_all(guests)
    pct = realtime.percentile
    result = {"users": n, "cycles": stats["cycles"], "errors": stats["errors"], "load": realtime.loadavg()}
    for name in ("invite_to_room_start", "message_to_delivery"):
        values = stats[name]
        if values:
            p50, p99 = pct(values, 50) * 1000, pct(values, 99) * 1000
            result[name] = (p50, p99)
            print(f"{name} (N={n}): p50={p50:.0f}ms p99={p99:.0f}ms n={len(values)}")
    done = max(1, stats["cycles"])
    spent = {name: calls - commands_before.get(name, 0) for name, calls in commands_after.items()}
    spent = {name: calls for name, calls in sorted(spent.items(), key=lambda item: -item[1]) if calls}
    result["redis_per_cycle"] = sum(spent.values()) / done
    print(
        f"Redis commands in the calls (N={n}): {result['redis_per_cycle']:.1f} per cycle "
        f"[{', '.join(f'{name} {calls / done:.1f}' for name, calls in spent.items())}] (the bench's own reads included)"
    )
    split = " + ".join(f"{name} {spent / done * 1000:.1f}" for name, spent in phases.items())
    result["cpu_ms_per_cycle"] = cpu / done * 1000
    print(
        f"cycles (N={n}): {stats['cycles']} of {half * args.rounds} done, {stats['errors']} errors, {elapsed:.1f}s; "
        f"whole-stack CPU {cpu:.2f}s = {cpu / done * 1000:.1f} ms/cycle (sign-up and connect included) "
        f"= {split} ms [{parts}]"
        f"{f'; sign-ups refused {failures}' if failures else ''}  load {result['load']}",
        flush=True,
    )
    return result


async def health_during_burst(args) -> None:
    """The hook for /healthz answered while --health-burst sockets connect at once: the
    measurement itself is bench/health_burst.py's `run(url, sockets)` (printing its own
    figures; it runs its own event loop, so in a thread of its own here)."""
    import health_burst

    await asyncio.to_thread(health_burst.run, args.url.removesuffix("/ws/").removesuffix("/ws"), args.health_burst)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("BENCH_WS_URL", "ws://127.0.0.1:8000/ws/"))
    parser.add_argument("--signups", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--sockets", type=int, default=1000, help="idle sockets held (out of the sign-ups)")
    parser.add_argument(
        "--cycle-users",
        type=lambda text: [int(n) for n in text.split(",") if int(n)],
        default=[100, 1000],
        help="comma-separated sizes N of the call-cycle runs (each pairs off in the same instant); 0: none",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--messages", type=int, default=4, help="messages each way per call")
    parser.add_argument(
        "--health-burst", type=int, default=0, help="sockets of the /healthz-in-a-burst check (health_burst.py)"
    )
    parser.add_argument("--allow-debug", action="store_true")
    sys.exit(asyncio.run(main(parser.parse_args())))
