#!/usr/bin/env python
"""Connect burst benchmark against a running stack (`make run`, not DEBUG), run with
`make bench ARGS="connect_burst …"`.

Creates N users (directly in the database, each with a session), then opens N WebSockets to
/ws/, one per user, all at once (`--ramp 0`) or at `--ramp` per second; each sends its token
(auth), then `presence.set available`, as the web client does, and stays idle for `--hold`
seconds. Meanwhile /healthz is polled every 100 ms. Then all close, and the server's memory
is sampled again `--after` seconds later. Printed:

- authenticated %, time until the last one was authenticated, auth-ack p50/p99, close codes;
- /healthz p50/p99/max during the burst;
- presence frames (presence.update, and the identity-free reel.changed of a burst) and the
  user entries in them received per connect, beside the bound
  "sockets allowed to see that user" (here everyone may see everyone);
- the ASGI processes' RSS: baseline, with the sockets idle (KB per socket), and `--after`
  seconds after they left (% of baseline); their CPU seconds during the burst;
- ERROR / Traceback lines the server log gained (with `--log`, the file `make run` writes);
- the load average before and after.

    PORT=8014 DEBUG=0 make run > var/run.log 2>&1 &
    make bench ARGS="connect_burst --url ws://127.0.0.1:8014 --sockets 2000 --log var/run.log"
    make bench ARGS="connect_burst --url ws://127.0.0.1:8014 --sockets 1000 --ramp 50"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import psutil  # noqa: E402
import requests  # noqa: E402
import websockets  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services.sessions import start_session  # noqa: E402


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def create_users(count: int, run: str) -> list[tuple[User, str]]:
    users = User.objects.bulk_create(
        [
            User(
                name=f"burst {run} {i}",
                account_type=User.AccountType.GUEST,
                account_expires_at=timezone.now() + User.GUEST_LIFETIME,
                access_status=User.AccessStatus.QR_GRACE_PERIOD,
            )
            for i in range(count)
        ]
    )
    return [(user, start_session(user, ip="127.0.0.1")) for user in users]


def cleanup(run: str) -> None:
    User.objects.filter(name__startswith=f"burst {run} ").delete()


def server_processes(port: int) -> list[psutil.Process]:
    """The uvicorn master listening on `port` and its worker processes."""
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if any(part.endswith("uvicorn") for part in cmd) and str(port) in cmd:
            return [proc, *proc.children()]
    raise SystemExit(f"no uvicorn with --port {port} found (start `PORT={port} make run` first)")


def backing_processes() -> list[psutil.Process]:
    """This stack's PostgreSQL (the postmaster serving our database's socket directory, and its
    backends) and Redis (the redis-server on REDIS_URL's port), when they run on this machine."""
    from django.conf import settings

    pg_dir = settings.DATABASES["default"].get("HOST") or ""
    redis_port = f":{urlsplit(settings.REDIS_URL).port or 6379}"
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if pg_dir.startswith("/") and "postgres" in cmd and f"-D {pg_dir}" in cmd:
            found += [proc, *proc.children()]
        elif "redis-server" in cmd and cmd.rstrip().endswith(redis_port):
            found.append(proc)
    return found


def rss_kb(procs) -> int:
    return sum(p.memory_info().rss for p in procs) // 1024


def cpu_seconds(procs) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:  # a PostgreSQL backend that ended
            continue
        total += t.user + t.system
    return total


def percentile(values, q: float):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _poll_health(url: str, stopped, results) -> None:
    session = requests.Session()
    latencies, failures = [], 0
    while not stopped.is_set():
        t0 = time.perf_counter()
        try:
            ok = session.get(url, timeout=30).status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append(time.perf_counter() - t0)
        failures += not ok
        stopped.wait(0.1)
    results.send((latencies, failures))


class HealthPoller:
    """GET /healthz every 100 ms, from a process of its own: in this one the client sockets'
    event loop holds the GIL, and the poller's wait for it would be counted as the server's."""

    def __init__(self, url: str):
        context = multiprocessing.get_context("fork")
        self.stopped = context.Event()
        self.results, child_end = context.Pipe(duplex=False)
        self.process = context.Process(target=_poll_health, args=(url, self.stopped, child_end), daemon=True)
        self.latencies, self.failures = [], 0

    def start(self) -> None:
        self.process.start()

    def stop(self) -> None:
        self.stopped.set()
        self.latencies, self.failures = self.results.recv()
        self.process.join(5)


class Client:
    def __init__(self, token: str, presence: bool = True):
        self.token, self.presence = token, presence
        self.opened_at: float | None = None  # handshake done
        self.acked_at: float | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.frames = collections.Counter()
        self.presence_entries = 0
        self.error = None

    async def run(self, url: str, t0: float, leave: asyncio.Event):
        try:
            async with websockets.connect(url, open_timeout=60, close_timeout=5, max_size=2**22) as ws:
                self.opened_at = time.perf_counter() - t0
                await ws.send(json.dumps({"type": "auth", "token": self.token, "id": "a"}))
                reader = asyncio.ensure_future(self._read(ws, t0))
                waiter = asyncio.ensure_future(leave.wait())
                await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if not reader.done():
                    await ws.close()
                    await asyncio.gather(reader, return_exceptions=True)
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            self.error = type(exc).__name__

    async def _read(self, ws, t0: float):
        try:
            async for raw in ws:
                event = json.loads(raw)
                self.frames[event.get("type")] += 1
                if event.get("type") == "ack" and event.get("for") == "auth":
                    self.acked_at = time.perf_counter() - t0
                    if self.presence:
                        await ws.send(json.dumps({"type": "presence.set", "available": True, "id": "p"}))
                elif event.get("type") == "presence.update":
                    self.presence_entries += len(event.get("users", []))
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.close_code, self.close_reason = closed.rcvd.code, closed.rcvd.reason


async def burst(args, tokens: list[str]) -> list[Client]:
    clients = [Client(token, not args.no_presence) for token in tokens]
    leave = asyncio.Event()
    t0 = time.perf_counter()
    tasks = []
    for i, client in enumerate(clients):
        if args.ramp:
            await asyncio.sleep(max(0.0, t0 + i / args.ramp - time.perf_counter()))
        tasks.append(asyncio.ensure_future(client.run(args.url.rstrip("/") + "/ws/", t0, leave)))
    deadline = time.perf_counter() + args.auth_wait
    while time.perf_counter() < deadline:
        if all(c.acked_at is not None or c.close_code is not None or c.error for c in clients):
            break
        await asyncio.sleep(0.1)
    print(f"  connect phase over after {time.perf_counter() - t0:.1f} s; loadavg {loadavg()}", flush=True)
    await asyncio.sleep(args.hold)
    args.on_idle()
    leave.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return clients


def print_log_errors(path: str, start: int) -> None:
    """The ERROR/Traceback lines the server's log gained since byte `start`: count and first."""
    with open(path, "rb") as f:
        f.seek(start)
        gained = f.read().decode(errors="replace").splitlines()
    bad = [line for line in gained if "ERROR" in line or "Traceback" in line]
    print(f"  server log: {len(bad)} ERROR/Traceback lines" + (f"; first: {bad[0][:160]}" if bad else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the stack (ws://host:port)")
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--ramp", type=float, default=0, help="connects per second (0: all at once)")
    parser.add_argument("--hold", type=float, default=10, help="seconds the sockets stay open, idle")
    parser.add_argument("--after", type=float, default=60, help="seconds after they left to sample RSS again")
    parser.add_argument("--auth-wait", type=float, default=60, help="longest wait for all to be authenticated")
    parser.add_argument("--floor", action="store_true", help="against bench/ws_floor.py (no users are created)")
    parser.add_argument("--no-presence", action="store_true", help="do not send presence.set (isolates its cost)")
    parser.add_argument("--log", help="the server's log file: ERROR/Traceback lines it gains are counted")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    port = parts.port or 80
    http = f"http://{parts.hostname}:{port}/healthz"
    procs = server_processes(port)
    run = uuid.uuid4().hex[:8]
    print(f"connect_burst: {args.sockets} sockets, {'burst' if not args.ramp else f'{args.ramp}/s'}, {args.url}")
    print(f"  loadavg before {loadavg()}; {len(procs)} server processes {[p.pid for p in procs]}")
    tokens = ["floor"] * args.sockets if args.floor else [token for _, token in create_users(args.sockets, run)]
    log_start = Path(args.log).stat().st_size if args.log else 0
    try:
        time.sleep(2)
        print(f"  {len(tokens)} users ready; connecting", flush=True)
        rss_base = rss_kb(procs)
        backing = backing_processes()
        cpu_before, backing_before, client_before = cpu_seconds(procs), cpu_seconds(backing), time.process_time()
        poller = HealthPoller(http)
        poller.start()
        idle = {}

        def on_idle():
            idle["rss"], idle["cpu"] = rss_kb(procs), cpu_seconds(procs)
            # PostgreSQL backends that ended meanwhile are not counted: a lower bound.
            idle["backing"], idle["client"] = cpu_seconds(backing_processes()), time.process_time()
            poller.stop()

        args.on_idle = on_idle
        clients = asyncio.run(burst(args, tokens))
        time.sleep(args.after)
        rss_after = rss_kb(procs)
    finally:
        if not args.floor:
            cleanup(run)
    acked = [c.acked_at for c in clients if c.acked_at is not None]
    opened = [c.opened_at for c in clients if c.opened_at is not None]
    waits = [c.acked_at - c.opened_at for c in clients if c.acked_at is not None]
    closes = collections.Counter(f"{c.close_code} {c.close_reason}".strip() for c in clients if c.close_code)
    errors = collections.Counter(c.error for c in clients if c.error and c.acked_at is None)
    n = len(clients)
    presence_frames = sum(c.frames["presence.update"] + c.frames["reel.changed"] for c in clients)
    ticks = sum(c.frames["reel.changed"] for c in clients)
    presence_entries = sum(c.presence_entries for c in clients)
    print(f"  authenticated: {len(acked)}/{n} = {100 * len(acked) / n:.1f} %")
    if acked:
        print(
            f"  time to all authenticated: {max(acked):.2f} s"
            f" (auth ack p50 {percentile(acked, 0.5):.2f} s, p99 {percentile(acked, 0.99):.2f} s)"
        )
        print(
            f"  handshake done p50 {percentile(opened, 0.5):.2f} s, p99 {percentile(opened, 0.99):.2f} s;"
            f" handshake → auth ack p50 {percentile(waits, 0.5):.2f} s, p99 {percentile(waits, 0.99):.2f} s"
        )
    print(f"  close codes: {dict(closes) or 'none'}; client errors: {dict(errors) or 'none'}")
    lat = poller.latencies
    if lat:
        print(
            f"  /healthz during the burst: n={len(lat)} p50 {1000 * statistics.median(lat):.0f} ms"
            f" p99 {1000 * percentile(lat, 0.99):.0f} ms max {1000 * max(lat):.0f} ms, {poller.failures} failed"
        )
    print(
        f"  presence frames per connect: {presence_frames / n:.2f} ({ticks / n:.2f} of them reel.changed);"
        f" user entries per connect: {presence_entries / n:.1f}"
        f" (bound: sockets allowed to see that user, here up to {n - 1})"
    )
    per_socket = (idle["rss"] - rss_base) / max(1, len(acked))
    print(
        f"  server RSS: baseline {rss_base / 1024:.1f} MB, idle with sockets {idle['rss'] / 1024:.1f} MB"
        f" ({per_socket:.1f} KB per socket), {args.after:.0f} s after they left {rss_after / 1024:.1f} MB"
        f" ({100 * (rss_after - rss_base) / rss_base:+.1f} % of baseline)"
    )
    cpu = idle["cpu"] - cpu_before
    print(f"  server CPU during connect+hold: {cpu:.1f} s = {1000 * cpu / n:.1f} ms per connect")
    backing_cpu, client_cpu = idle["backing"] - backing_before, idle["client"] - client_before
    print(
        f"  PostgreSQL + Redis CPU: {backing_cpu:.1f} s = {1000 * backing_cpu / n:.1f} ms per connect;"
        f" this bench client: {client_cpu:.1f} s"
    )
    if args.log:
        print_log_errors(args.log, log_start)
    print(f"  loadavg after {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
