#!/usr/bin/env python
"""The reel at scale: GET /api/reel's work (chat.reel.list_reel) with 100 k users, 5 k of them
online and available, blocks, cooldowns and "who I want to meet" preferences spread over them.

    DEBUG=0 make bench ARGS="reel --users 100000 --online 5000 --ops 300"

In-process against the stack's PostgreSQL and Redis (make bench starts them). Everything it
writes is in one transaction that is rolled back at the end, and presence goes to keys of its
own (bench:reel:*), so a running site is not touched. Prints p50/p99 of a whole list_reel call
(the event-mode guard's cache read, the Redis presence read of up to 5 k ids, the one SQL
query) and of its SQL alone, the PostgreSQL backend's CPU ms per call (from /proc of the
backend process), this process's CPU ms per call, the load average before and after, and the
plan (EXPLAIN ANALYZE, BUFFERS) of one viewer's query."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DB_POOL_MAX"] = "0"  # one plain connection: its backend's CPU is the server's

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Exists, OuterRef, Q  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from chat import presence, reel  # noqa: E402
from chat.models import ActiveRoomMember, Block, Cooldown  # noqa: E402
from moderation.models import Report  # noqa: E402
from referrals.models import ReferralNotification  # noqa: E402

GENDERS = (
    [User.Gender.FEMALE] * 45 + [User.Gender.MALE] * 45 + [User.Gender.NONBINARY] * 5 + [User.Gender.UNSPECIFIED] * 5
)
EVERYONE = list(User.Gender.values)
# meet_genders: most want everyone, many one gender, a few two.
PREFERENCES = (
    [EVERYONE] * 50 + [["female"]] * 20 + [["male"]] * 20 + [["female", "nonbinary"]] * 5 + [["male", "nonbinary"]] * 5
)
MODES = [["text", "video"]] * 80 + [["text"]] * 10 + [["video"]] * 10


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def backend_cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this machine, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_presence_keys() -> None:
    """Presence in keys of the bench's own: the running site's reel never sees these users."""
    presence.ONLINE = "bench:reel:online"
    presence.AVAILABLE = "bench:reel:available"
    presence._mode_key = lambda mode: f"bench:reel:available:{mode}"
    presence._user_key = lambda user_id: f"bench:reel:user:{user_id}"


def clear_bench_presence() -> None:
    client = presence.redis_client()
    keys = list(client.scan_iter("bench:reel:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def populate(users: int, online: int, blocks: int, cooldowns: int, rng: random.Random) -> list[User]:
    now = timezone.now()
    rows = [
        User(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            name=f"Bench {i}",
            gender=rng.choice(GENDERS),
            password="!",  # noqa: S106 - an unusable password, as set_unusable_password makes
            account_type=User.AccountType.GUEST,
            account_expires_at=now + User.GUEST_LIFETIME,
            access_status=User.AccessStatus.QR_GRACE_PERIOD,
            access_granted_at=now,
            meet_genders=rng.choice(PREFERENCES),
            meet_modes=rng.choice(MODES),
        )
        for i in range(users)
    ]
    User.objects.bulk_create(rows, batch_size=5000)
    ids = [u.pk for u in rows]
    pairs = set()
    while len(pairs) < blocks:
        a, b = rng.sample(ids, 2)
        pairs.add((a, b))
    Block.objects.bulk_create([Block(blocker_id=a, blocked_id=b) for a, b in pairs], batch_size=5000)
    pairs = set()
    while len(pairs) < cooldowns:
        a, b = sorted(rng.sample(ids, 2), key=str)
        pairs.add((a, b))
    Cooldown.objects.bulk_create(
        [
            Cooldown(
                user_low_id=a,
                user_high_id=b,
                expires_at=now + timedelta(hours=12),
                created_at=now,
                reason="session_end",
            )
            for a, b in pairs
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        for table in ("users", "blocks", "cooldowns"):
            cursor.execute(f"ANALYZE {table}")
    online_users = rng.sample(rows, online)
    clear_bench_presence()
    lapse_base = time.time() + 3600  # online for the whole run (a heartbeat's lapse is 60 s)
    for user in online_users:
        presence.touch(user.pk, f"bench.{user.pk}", now=lapse_base)
        presence.set_available(user.pk, True)
    return online_users


def measure(viewers: list[User], ops: int, mode: str | None, pid: int, rng: random.Random) -> dict:
    calls, shown = [], []
    for viewer in viewers[:20]:  # warm the plan cache and the buffers
        reel.list_reel(viewer, mode=mode)
    cpu0, backend0 = time.process_time(), backend_cpu_seconds(pid)
    for _ in range(ops):
        viewer = rng.choice(viewers)
        t0 = time.perf_counter()
        page = reel.list_reel(viewer, mode=mode)
        calls.append((time.perf_counter() - t0) * 1000)
        shown.append(len(page.results))
    cpu = (time.process_time() - cpu0) / ops * 1000
    backend = (backend_cpu_seconds(pid) - backend0) / ops * 1000
    query = {}
    for name, build in (("now", reel.reel_queryset), ("before", reel_queryset_before_issue_19)):
        times, backend1 = [], backend_cpu_seconds(pid)
        for _ in range(ops):  # the query alone: built by Django, run, fetched (presence read outside)
            viewer = rng.choice(viewers)
            ids = presence.online_available_ids(mode=mode)
            t0 = time.perf_counter()
            list(build(viewer, mode=mode, ids=ids).order_by("-introduced", "pk")[:21])
            times.append((time.perf_counter() - t0) * 1000)
        query[name] = (percentile(times, 50), percentile(times, 99), (backend_cpu_seconds(pid) - backend1) / ops * 1000)
    assert sum(shown), "no viewer saw anyone: is presence set?"
    return {
        "call_p50": percentile(calls, 50),
        "call_p99": percentile(calls, 99),
        "query": query,
        "cpu": cpu,
        "backend": backend,
        "shown": sum(shown) / len(shown),
    }


def reel_queryset_before_issue_19(viewer: User, *, mode: str | None, ids: list[str]):
    """The reel's query as it was before blocks and preferences (pk__in, one parameter per id),
    on the same data: the baseline of the table in docs."""
    ids = [uid for uid in ids if uid != str(viewer.pk)]
    cooldown = Cooldown.objects.filter(
        Q(user_low=viewer, user_high=OuterRef("pk")) | Q(user_low=OuterRef("pk"), user_high=viewer),
        expires_at__gt=timezone.now(),
    )
    introduced = ReferralNotification.objects.filter(
        Q(referred_user=viewer, for_user=OuterRef("pk")) | Q(for_user=viewer, referred_user=OuterRef("pk"))
    )
    return (
        reel._in_reels()
        .filter(pk__in=ids)
        .filter(~Exists(ActiveRoomMember.objects.filter(user=OuterRef("pk"))))
        .filter(~Exists(cooldown))
        .filter(~Exists(Report.objects.filter(reporter=viewer, reported=OuterRef("pk"))))
        .annotate(introduced=Exists(introduced))
    )


def explain(viewer: User, mode: str | None) -> str:
    rows = reel.reel_queryset(viewer, mode=mode).order_by("-introduced", "pk")[:21]
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    # The list of 5 000 ids is long: cut the lines that carry it.
    return "\n".join(line[:157] + "..." if len(line) > 1000 else line for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--online", type=int, default=5_000)
    parser.add_argument("--blocks", type=int, default=50_000)
    parser.add_argument("--cooldowns", type=int, default=50_000)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--allow-debug", action="store_true")
    args = parser.parse_args()
    if settings.DEBUG and not args.allow_debug:
        print("DEBUG is on (every query is kept in memory): run with DEBUG=0, or pass --allow-debug.")
        return 2
    rng = random.Random(args.seed)
    call_command("migrate", "--noinput", verbosity=0)
    bench_presence_keys()
    print(f"load average at start: {loadavg()}")
    try:
        with transaction.atomic():
            t0 = time.perf_counter()
            online = populate(args.users, args.online, args.blocks, args.cooldowns, rng)
            print(
                f"populated {args.users} users ({args.online} online), {args.blocks} blocks, "
                f"{args.cooldowns} cooldowns in {time.perf_counter() - t0:.1f} s; load {loadavg()}"
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            for mode in (None, "video"):
                r = measure(online, args.ops, mode, pid, rng)
                print(
                    f"mode={mode or 'any':<5} list_reel p50 {r['call_p50']:.1f} ms p99 {r['call_p99']:.1f} ms · "
                    f"PostgreSQL CPU {r['backend']:.2f} ms/call · this process CPU {r['cpu']:.2f} ms/call · "
                    f"{r['shown']:.1f} cards/page · load {loadavg()}"
                )
                for name, (p50, p99, cpu) in r["query"].items():
                    print(
                        f"    the query alone, {name:<6}: p50 {p50:.1f} ms p99 {p99:.1f} ms · "
                        f"PostgreSQL CPU {cpu:.2f} ms"
                    )
            print("\nEXPLAIN (ANALYZE, BUFFERS), one viewer, any mode:\n" + explain(online[0], None))
            transaction.set_rollback(True)
    finally:
        clear_bench_presence()
    print(f"\nrolled back; load average at end: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
