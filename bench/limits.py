#!/usr/bin/env python
"""The floor on this machine, and round trips per hot operation (bench/realtime.py runs this).

Floor: INSERT+COMMIT of a message-sized row on one connection (rows/s, p99), and an accept
written as one SQL statement (lock two user rows, insert a room, settle the invite) on scratch
tables, against the same PostgreSQL the stack uses.

Round trips: each hot service (auth, invite, accept, message, end, decline, the room timer's
check) run once in this process on scratch users, counting the protocol messages that wait for
the server (libpq's trace: each simple `Query` and each extended-protocol `Sync` is one round
trip, BEGIN and COMMIT included).

    make bench ARGS="limits"
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DB_POOL_MAX"] = "0"  # one plain connection: the trace follows it

import django

django.setup()

from django.db import connection  # noqa: E402

FLOOR_SECONDS = 3.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def _timed_loop(statement: str, params_for) -> tuple[float, float]:
    """Run `statement` in autocommit (each execution its own transaction) for FLOOR_SECONDS:
    executions per second and p99 latency in ms."""
    latencies = []
    with connection.cursor() as cursor:
        end = time.perf_counter() + FLOOR_SECONDS
        i = 0
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            cursor.execute(statement, params_for(i))
            latencies.append(time.perf_counter() - t0)
            i += 1
    return len(latencies) / sum(latencies), percentile(latencies, 99) * 1000


def measure_floor() -> dict:
    """Raw PostgreSQL rates on scratch tables (created and dropped here)."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE IF NOT EXISTS bench_floor_messages (
                id bigserial PRIMARY KEY, room_id uuid NOT NULL, sender_id uuid NOT NULL,
                content varchar(500) NOT NULL, client_id varchar(64), sent_at timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS bench_floor_users (id uuid PRIMARY KEY, n int NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS bench_floor_rooms (
                id uuid PRIMARY KEY, user_1 uuid NOT NULL, user_2 uuid NOT NULL, ends_at timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS bench_floor_invites (id bigserial PRIMARY KEY, status text NOT NULL,
                room_id uuid);
            """
        )
    try:
        room, sender = uuid.uuid4(), uuid.uuid4()
        insert_rate, insert_p99 = _timed_loop(
            "INSERT INTO bench_floor_messages (room_id, sender_id, content, client_id, sent_at)"
            " VALUES (%s, %s, %s, %s, now())",
            lambda i: [room, sender, f"hello {i} " + "x" * 40, f"c{i}"],
        )
        users = [uuid.uuid4() for _ in range(2000)]
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_floor_users (id) VALUES (%s)", [[u] for u in users])
            cursor.executemany(
                "INSERT INTO bench_floor_invites (status) VALUES (%s)", [["pending"] for _ in range(100000)]
            )
        accept_rate, accept_p99 = _timed_loop(
            """
            WITH locked AS (
                SELECT id FROM bench_floor_users WHERE id IN (%s, %s) ORDER BY id FOR NO KEY UPDATE
            ), room AS (
                INSERT INTO bench_floor_rooms (id, user_1, user_2, ends_at)
                SELECT gen_random_uuid(), %s, %s, now() + interval '60 seconds'
                 WHERE (SELECT count(*) FROM locked) = 2
                RETURNING id
            )
            UPDATE bench_floor_invites SET status = 'accepted', room_id = (SELECT id FROM room) WHERE id = %s
            """,
            lambda i: [users[(2 * i) % 2000], users[(2 * i + 1) % 2000]] * 2 + [1 + i],
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TABLE IF EXISTS bench_floor_messages, bench_floor_users, bench_floor_rooms, bench_floor_invites"
            )
    return {
        "insert_commit_per_s": insert_rate,
        "insert_commit_p99_ms": insert_p99,
        "one_statement_accept_per_s": accept_rate,
        "one_statement_accept_p99_ms": accept_p99,
    }


class RoundTrips:
    """Counts round trips on Django's connection with libpq's protocol trace."""

    def __enter__(self):
        from psycopg import pq

        connection.ensure_connection()
        self.pgconn = connection.connection.pgconn
        self.file = tempfile.NamedTemporaryFile("w+", suffix=".trace")
        self.pgconn.trace(self.file.fileno())
        self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        return self

    def __exit__(self, *exc):
        self.pgconn.untrace()
        self.file.flush()
        self.file.seek(0)
        lines = [line.split("\t") for line in self.file.read().splitlines()]
        self.file.close()
        self.count = sum(1 for parts in lines if len(parts) > 2 and parts[0] == "F" and parts[2] in ("Query", "Sync"))
        return False


def measure_round_trips() -> dict:
    """Each hot operation once on scratch users, counted (then the users are deleted)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from accounts.selectors import authenticate_token
    from accounts.services.sessions import start_session
    from chat import presence, services
    from chat.models import ActiveRoom

    run = uuid.uuid4().hex[:6]
    users = User.objects.bulk_create(
        [
            User(
                name=f"bench {run} {i}",
                account_type=User.AccountType.GUEST,
                account_expires_at=timezone.now() + User.GUEST_LIFETIME,
                access_status=User.AccessStatus.QR_GRACE_PERIOD,
            )
            for i in range(4)
        ]
    )
    a, b, c, d = users
    token = start_session(a, ip="127.0.0.1")
    for user in users:
        presence.touch(user.pk, f"bench-{run}-{user.pk}")
        presence.set_available(user.pk, True, ("video", "text"))
    counts = {}
    try:
        authenticate_token(token, ip="127.0.0.1")  # the first touch of last_active_at is not typical
        with RoundTrips() as rt:
            authenticate_token(token, ip="127.0.0.1")
        counts["auth"] = rt.count
        with RoundTrips() as rt:
            invite = services.send_invite(a, to=b.pk, mode="text", seconds=60)
        counts["invite"] = rt.count
        with RoundTrips() as rt:
            room = services.accept_invite(b, invite_id=invite.pk, seconds=60)
        counts["accept"] = rt.count
        with RoundTrips() as rt:
            services.post_message(a, room_id=room.pk, client_id="m1", text="hello")
        counts["message"] = rt.count
        with RoundTrips() as rt:
            services.room_timer_step(room.pk)
        counts["room timer check"] = rt.count
        ActiveRoom.objects.filter(pk=room.pk).update(started_at=timezone.now() - timedelta(seconds=40))
        with RoundTrips() as rt:
            services.end_room_by_member(a, room_id=room.pk)
        counts["end"] = rt.count
        other = services.send_invite(c, to=d.pk, mode="text", seconds=60)
        with RoundTrips() as rt:
            services.decline_invite(d, invite_id=other.pk)
        counts["decline"] = rt.count
    finally:
        for user in users:
            presence.drop(user.pk, f"bench-{run}-{user.pk}")
        User.objects.filter(name__startswith=f"bench {run} ").delete()
    return counts


def main() -> int:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    trips = measure_round_trips()
    print("round trips per operation (BEGIN/COMMIT included):")
    for name, count in trips.items():
        print(f"  {name}: {count}")
    floor = measure_floor()
    print(f"floor: INSERT+COMMIT {floor['insert_commit_per_s']:.0f}/s (p99 {floor['insert_commit_p99_ms']:.1f} ms)")
    print(
        f"floor: one-statement accept {floor['one_statement_accept_per_s']:.0f}/s "
        f"(p99 {floor['one_statement_accept_p99_ms']:.1f} ms)"
    )
    print(f"load average: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
