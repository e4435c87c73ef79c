#!/usr/bin/env python
"""The Python cost of one guest sign-up by itself: POST /api/auth/signup through Django's ASGI
handler in this process (no server, no network, no other request), one at a time, against the
stack's database and Redis (`make bench ARGS="signup_cpu …"`; `make run` need not be running,
but its database must exist). Printed: CPU and wall time per sign-up (their difference is
mostly the waits for PostgreSQL and Redis), with the middleware chain as configured and, for
comparison in the same run, without its sync-only last middleware
(config.middleware.OneThreadForTheChain), alternating `--rounds` times; the load average
beside each. Open sign-up is switched on for the run and restored; the users are deleted.

    make bench ARGS="signup_cpu --signups 300 --rounds 3"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["RATE_SIGNUP"] = "1000000/h"  # one address signs everyone up

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from accounts.models import SiteSettings, User  # noqa: E402

PREFIX = "signup_cpu"
LAST = "config.middleware.OneThreadForTheChain"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def sign_up(app, name: str) -> int:
    body = json.dumps({"name": name, "gender": "female", "terms_accepted": True}).encode()
    host = (settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip(".").replace("*", "localhost")
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/auth/signup",
        "query_string": b"",
        "headers": [
            (b"host", host.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    sent, received = [], []

    async def receive():
        if received:
            await asyncio.Future()  # no disconnect until the answer is sent
        received.append(True)
        return {"type": "http.request", "body": body}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


async def measure(app, count: int, run: str, label: str) -> None:
    await sign_up(app, f"{PREFIX} {run} warm {label}")
    statuses: dict[int, int] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        status = await sign_up(app, f"{PREFIX} {run} {label} {i}")
        statuses[status] = statuses.get(status, 0) + 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"  {label}: {1000 * cpu / count:.2f} ms CPU, {1000 * wall / count:.2f} ms wall per sign-up"
        f" (statuses {statuses}); load {loadavg()}",
        flush=True,
    )


def handler(with_last: bool) -> ASGIHandler:
    middleware = list(settings.MIDDLEWARE)
    if not with_last:
        middleware.remove(LAST)
    settings.MIDDLEWARE = middleware
    return ASGIHandler()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signups", type=int, default=300, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6]
    configured = list(settings.MIDDLEWARE)
    row, _ = SiteSettings.objects.get_or_create(id=1)
    was_open = row.open_signup
    SiteSettings.objects.filter(id=1).update(open_signup=True)
    print(f"signup_cpu: {args.rounds} rounds of {args.signups} sign-ups each way; load {loadavg()}")
    try:
        for i in range(args.rounds):
            print(f"round {i + 1}")
            for with_last in (True, False):
                settings.MIDDLEWARE = configured
                app = handler(with_last)
                label = "as configured" if with_last else f"without {LAST.rsplit('.', 1)[1]}"
                asyncio.run(measure(app, args.signups, run, label))
    finally:
        settings.MIDDLEWARE = configured
        SiteSettings.objects.filter(id=1).update(open_signup=was_open)
        User.objects.filter(name__startswith=f"{PREFIX} {run} ").delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
