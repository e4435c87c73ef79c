#!/usr/bin/env python
"""Cost of the event-mode guard (chat.event_mode.ensure_event_open), which runs on every reel
load, call.invite and call.accept. Run with `make bench ARGS="event_guard --ops 20000"`.

In-process, against the stack's Redis and PostgreSQL (make bench starts them), on a snapshot
key of its own (the running site's settings are not touched). For each case it prints the
CPU time of this process per call and the wall time per call, beside a floor measured in the
same run: one Django cache GET of a small value (the one Redis round trip the guard makes),
and one primary-key SELECT (the pass lookup made only while closed). Load average is printed
with every line; the machine is shared."""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from chat import event_mode  # noqa: E402
from chat.event_mode import EventClosed, EventConfig  # noqa: E402


class FakeUser:
    pk = uuid.uuid4()  # nobody: the pass lookup finds no row


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def measure(name: str, fn, ops: int, floor: float | None = None) -> float:
    fn()  # warm
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ops):
        fn()
    cpu = (time.process_time() - cpu0) / ops * 1e6
    wall = (time.perf_counter() - wall0) / ops * 1e6
    ratio = f"  ×{cpu / floor:.2f} of the floor's CPU" if floor else ""
    print(f"{name:<44} cpu {cpu:7.1f} µs/op  wall {wall:7.1f} µs/op{ratio}  load {loadavg()}")
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=20000)
    args = parser.parse_args()
    event_mode.CACHE_KEY = f"bench:event_mode:{uuid.uuid4().hex}"
    user = FakeUser()
    now = timezone.now()
    local = now.astimezone(EventConfig().zone)
    around = clock(max(0, local.hour - 1)), clock(min(23, local.hour + 1), 59)
    far = clock(23, 58) if local.hour < 22 else clock(0, 1)
    closed = (far, clock(23, 59)) if far.hour == 23 else (clock(0, 0), far)

    def snapshot(config: EventConfig) -> None:
        cache.set(event_mode.CACHE_KEY, event_mode._encode(config), timeout=600)

    cache.set("bench:floor", {"x": 1}, timeout=600)
    floor = measure("floor: cache GET (1 Redis round trip)", lambda: cache.get("bench:floor"), args.ops)

    def select_one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM event_access_passes WHERE user_id = %s", [str(user.pk)])
            cursor.fetchone()

    sql_floor = measure("floor: one pass lookup SELECT", select_one, args.ops // 4)

    snapshot(EventConfig(enabled=False))
    measure("guard, event mode off", lambda: event_mode.ensure_event_open(user), args.ops, floor)
    snapshot(EventConfig(enabled=True, window_start=around[0], window_end=around[1]))
    measure("guard, on and open", lambda: event_mode.ensure_event_open(user), args.ops, floor)
    snapshot(EventConfig(enabled=True, window_start=closed[0], window_end=closed[1]))

    def refused():
        try:
            event_mode.ensure_event_open(user)
        except EventClosed:
            return
        raise AssertionError("expected closed")

    measure("guard, on and closed (+pass lookup, refusal)", refused, args.ops // 4, floor + sql_floor)
    cache.delete(event_mode.CACHE_KEY)
    cache.delete("bench:floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
