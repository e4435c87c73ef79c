#!/usr/bin/env python
"""Matches: what they cost on the hot path and on their own (docs/api.md → Matches; figures in docs/performance.md).

On scratch users (deleted at the end), against the PostgreSQL the stack uses:
- the end of a call (rdv_end_room) for pairs that are not matched and for matched pairs (the
  function's one extra lookup, on the matches pair index, with --matches rows in the table);
- a yes that makes the match (locks, the answer, the match, the cooldown deleted);
- the Matches list of a user with --per-user matches (one query, newest first, one page).

Each is reported as mean and p99 wall ms per operation, and CPU ms per operation of this
process plus the PostgreSQL backend serving it (from /proc/<pid>/stat), with the load average.

    make bench ARGS="matches --matches 20000 --ops 300"
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DB_POOL_MAX"] = "0"  # one plain connection: its backend's CPU is measured

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def measure(label: str, ops: list, work) -> dict:
    """Run work(op) for each op: wall ms mean/p99, CPU ms per op (this process + its backend)."""
    pid = backend_pid()
    cpu0, own0 = cpu_seconds(pid), time.process_time()
    times = []
    for op in ops:
        t0 = time.perf_counter()
        work(op)
        times.append((time.perf_counter() - t0) * 1000)
    backend = (cpu_seconds(pid) - cpu0) * 1000 / len(ops)
    own = (time.process_time() - own0) * 1000 / len(ops)
    times.sort()
    return {
        "what": label,
        "ops": len(ops),
        "mean_ms": sum(times) / len(times),
        "p99_ms": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
        "cpu_ms_python": own,
        "cpu_ms_postgres": backend,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=20_000, help="matches in the table")
    parser.add_argument("--ops", type=int, default=300, help="operations per measurement")
    parser.add_argument("--per-user", type=int, default=100, help="matches of the user whose list is read")
    args = parser.parse_args(sys.argv[1:])

    from accounts.models import User
    from chat.models import ActiveRoom, Match
    from chat.selectors import list_matches, match_view, ordered_pair
    from chat.services import answer_meet_again, end_room

    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    run = uuid.uuid4().hex[:6]
    now = timezone.now()
    people = 2 * (args.matches + 2 * args.ops) + args.per_user + 1
    users = User.objects.bulk_create(
        [
            User(
                name=f"bench {run} {i}",
                account_type=User.AccountType.GUEST,
                account_expires_at=now + User.GUEST_LIFETIME,
                access_status=User.AccessStatus.QR_GRACE_PERIOD,
            )
            for i in range(people)
        ],
        batch_size=5000,
    )
    try:
        pairs = [(users[2 * i], users[2 * i + 1]) for i in range(len(users) // 2)]
        matched, plain, to_match = (
            pairs[: args.matches],
            pairs[args.matches : args.matches + args.ops],
            pairs[args.matches + args.ops : args.matches + 2 * args.ops],
        )
        Match.objects.bulk_create(
            [Match(user_low_id=min(str(a.pk), str(b.pk)), user_high_id=max(str(a.pk), str(b.pk))) for a, b in matched],
            batch_size=5000,
        )
        me = users[-1]
        fans = users[-1 - args.per_user : -1]
        Match.objects.bulk_create(
            [
                Match(**dict(zip(("user_low_id", "user_high_id"), ordered_pair(str(me.pk), str(f.pk)), strict=True)))
                for f in fans
            ]
        )

        def live_room(pair):
            started = timezone.now() - timezone.timedelta(seconds=60)
            return ActiveRoom.objects.create(
                user_1=pair[0],
                user_2=pair[1],
                chat_mode="text",
                duration_seconds=300,
                started_at=started,
                ends_at=started + timezone.timedelta(seconds=300),
            ).pk

        results = []
        rooms = [live_room(p) for p in plain]
        results.append(measure("end of a call, pair not matched", rooms, lambda r: end_room(r, reason="timer")))
        rooms = [live_room(p) for p in matched[: args.ops]]
        results.append(measure("end of a call, matched pair", rooms, lambda r: end_room(r, reason="timer")))
        rooms = [live_room(p) for p in to_match]
        for room_id in rooms:
            end_room(room_id, reason="timer")
        first = {room_id: pair for room_id, pair in zip(rooms, to_match, strict=True)}
        for room_id, (a, _) in first.items():
            answer_meet_again(a, room_id=room_id, answer=True)
        results.append(
            measure(
                "the second yes (makes the match)",
                rooms,
                lambda r: answer_meet_again(first[r][1], room_id=r, answer=True),
            )
        )
        results.append(
            measure(
                f"Matches list, first page of 20 (user with {args.per_user})",
                list(range(args.ops)),
                lambda _: [match_view(m, for_user=me) for m in list_matches(me).order_by("-created_at")[:20]],
            )
        )
    finally:
        ActiveRoom.objects.filter(user_1__name__startswith=f"bench {run} ").delete()
        User.objects.filter(name__startswith=f"bench {run} ").delete()

    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"matches in the table: {args.matches + args.per_user}, load average {load_before} → {load_after}")
    print("| what | ops | mean ms | p99 ms | CPU ms/op (Python) | CPU ms/op (PostgreSQL) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['what']} | {r['ops']} | {r['mean_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['cpu_ms_python']:.2f} | {r['cpu_ms_postgres']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
