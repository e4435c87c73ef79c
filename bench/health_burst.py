#!/usr/bin/env python
"""/healthz while a burst of WebSockets connects, against a running stack (`make run`, not
DEBUG), run with `make bench ARGS="health_burst …"`.

A load balancer polls /healthz on every ASGI process, and a process that answers late is taken
out of service: health must not queue behind a burst of handshakes and sign-ins. Each round
creates --sockets users with a session (bench/connect_burst.py), polls /healthz for a few
seconds at rest, then opens all the sockets at once (token, then presence, as the web client
does) while --pollers processes each GET /healthz every --interval seconds on a keep-alive
connection; the sockets stay --hold seconds, then close. Beside them --django-pollers send
HEAD /healthz, which goes through Django (the view answers 405): the path every /healthz took
before config/health_asgi.py answered it first, without its checks, measured in the same run.
Printed per round and over all rounds:

- /healthz at rest and during the burst (from the first connect until every socket was
  authenticated or closed): n, p50, p99, max, answers that were not 200;
- the burst's own figures: authenticated %, time until the last was, handshake and auth-ack
  p50/p99, close codes, the ASGI processes' CPU per connect;
- the load average before and after each round.

    PORT=8014 DEBUG=0 make run > var/run.log 2>&1 &
    make bench ARGS="health_burst --url ws://127.0.0.1:8014 --sockets 2000 --rounds 2"
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import connect_burst as cb
import requests


def _poll(url: str, method: str, interval: float, stopped, results) -> None:
    session = requests.Session()
    samples = []  # (monotonic start, seconds, status or None)
    while not stopped.is_set():
        t0 = time.monotonic()
        try:
            status = session.request(method, url, timeout=30).status_code
        except requests.RequestException:
            status = None
        samples.append((t0, time.monotonic() - t0, status))
        stopped.wait(interval)
    results.send(samples)


class Pollers:
    """One process per probe (GET or HEAD), each of its own (this one's event loop would delay their clocks)."""

    def __init__(self, url: str, probes: list[str], interval: float):
        context = multiprocessing.get_context("fork")
        self.stopped = context.Event()
        self.pipes, self.procs = [], []
        for method in probes:
            parent_end, child_end = context.Pipe(duplex=False)
            self.pipes.append((method, parent_end))
            args = (url, method, interval, self.stopped, child_end)
            self.procs.append(context.Process(target=_poll, args=args, daemon=True))

    def __enter__(self):
        for proc in self.procs:
            proc.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.samples = {"GET": [], "HEAD": []}
        for method, pipe in self.pipes:
            self.samples[method] += pipe.recv()
        for proc in self.procs:
            proc.join(5)


def summary(samples, expected: int = 200) -> str:
    if not samples:
        return "n=0"
    lat = [s[1] for s in samples]
    bad = sum(1 for s in samples if s[2] != expected)
    return (
        f"n={len(lat)} p50 {1000 * cb.percentile(lat, 0.5):.0f} ms p99 {1000 * cb.percentile(lat, 0.99):.0f} ms"
        f" max {1000 * max(lat):.0f} ms, {bad} not {expected}"
    )


def report(label: str, samples: dict) -> None:
    print(f"  /healthz {label}: {summary(samples['GET'])}")
    if samples["HEAD"]:
        print(f"    through Django (HEAD /healthz, answered 405 by the view): {summary(samples['HEAD'], 405)}")


def one_round(args, health_url: str, procs) -> tuple[dict, dict]:
    run = uuid.uuid4().hex[:8]
    tokens = [token for _, token in cb.create_users(args.sockets, run)]
    try:
        time.sleep(1)
        probes = ["GET"] * args.pollers + ["HEAD"] * args.django_pollers
        with Pollers(health_url, probes, args.interval) as rest:
            time.sleep(args.rest)
        report(f"at rest (loadavg {cb.loadavg()})", rest.samples)
        window = {}
        cpu_before = cb.cpu_seconds(procs)

        def on_idle():
            window["cpu"] = cb.cpu_seconds(procs) - cpu_before

        args.on_idle = on_idle
        with Pollers(health_url, probes, args.interval) as during:
            start = time.monotonic()
            clients = asyncio.run(cb.burst(args, tokens))
        # The burst: from the first connect until the last socket was authenticated or closed.
        settled = [c.acked_at for c in clients if c.acked_at is not None]
        end = start + (max(settled) if settled else 0)
        burst = {method: [s for s in got if start <= s[0] <= end] for method, got in during.samples.items()}
    finally:
        cb.cleanup(run)
    acked = [c.acked_at for c in clients if c.acked_at is not None]
    opened = [c.opened_at for c in clients if c.opened_at is not None]
    closes = collections.Counter(f"{c.close_code} {c.close_reason}".strip() for c in clients if c.close_code)
    errors = collections.Counter(c.error for c in clients if c.error and c.acked_at is None)
    n = len(clients)
    report("during the burst", burst)
    print(
        f"  burst: authenticated {len(acked)}/{n}"
        + (
            f", all in {max(acked):.2f} s; handshake p50 {cb.percentile(opened, 0.5):.2f} s"
            f" p99 {cb.percentile(opened, 0.99):.2f} s; auth ack p50 {cb.percentile(acked, 0.5):.2f} s"
            f" p99 {cb.percentile(acked, 0.99):.2f} s"
            if acked
            else ""
        )
        + f"; closes {dict(closes) or 'none'}; client errors {dict(errors) or 'none'};"
        f" ASGI CPU {window['cpu']:.1f} s = {1000 * window['cpu'] / n:.1f} ms per connect",
        flush=True,
    )
    return rest.samples, burst


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the stack (ws://host:port)")
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pollers", type=int, default=4, help="processes polling /healthz")
    parser.add_argument(
        "--django-pollers", type=int, default=2, help="processes sending HEAD /healthz (Django's path) to compare"
    )
    parser.add_argument("--interval", type=float, default=0.05, help="each poller's pause between GETs")
    parser.add_argument("--rest", type=float, default=3, help="seconds of polling at rest before each burst")
    parser.add_argument("--hold", type=float, default=2, help="seconds the sockets stay open, idle")
    parser.add_argument("--auth-wait", type=float, default=60, help="longest wait for all to be authenticated")
    return parser


def run(url: str, sockets: int, rounds: int = 1) -> int:
    """The measurement with its defaults, for another bench (bench/lean.py --health-burst)."""
    return measure(parser().parse_args(["--url", url, "--sockets", str(sockets), "--rounds", str(rounds)]))


def main() -> int:
    return measure(parser().parse_args())


def measure(args) -> int:
    args.ramp, args.no_presence = 0, False  # what cb.burst reads: all at once, with presence
    parts = urlsplit(args.url)
    port = parts.port or 80
    health_url = f"http://{parts.hostname}:{port}/healthz"
    procs = [p for p in cb.server_processes(port)]
    print(
        f"health_burst: {args.rounds} × {args.sockets} sockets at once, {args.pollers} pollers every"
        f" {args.interval:g} s, {args.url}; loadavg {cb.loadavg()}; server processes {[p.pid for p in procs]}",
        flush=True,
    )
    rest_all, burst_all = {"GET": [], "HEAD": []}, {"GET": [], "HEAD": []}
    for i in range(args.rounds):
        print(f"round {i + 1}: loadavg before {cb.loadavg()}", flush=True)
        rest, burst = one_round(args, health_url, procs)
        for method in rest_all:
            rest_all[method] += rest[method]
            burst_all[method] += burst[method]
        print(f"  loadavg after {cb.loadavg()}", flush=True)
    print("all rounds:")
    report("at rest", rest_all)
    report(f"during the bursts (loadavg now {cb.loadavg()})", burst_all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
