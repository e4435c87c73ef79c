"""Chaos: the stack (`scripts/stack.py run`: 2 ASGI workers, Celery worker and beat, supervised)
on a PostgreSQL and a Redis of its own, which are killed, frozen (SIGSTOP) and restarted while
pairs of users cycle full calls over real sockets and other pairs sit in long calls
(tests/fault_scenarios.py). After each fault every acknowledged write is looked up in that
PostgreSQL: present exactly once. The targets: Redis back empty → a full call within 10 s with
no client reconnecting; Redis or PostgreSQL frozen → every answer within 5 s (503 /
service_unavailable with a retry hint, never a hang or server_error); a killed Celery process
→ restarted, no call ends, the API never down; a restart of the stack → no live call ends.

One stack for the module (its start, migrations included, is the slow part); the faults are
kept short. bench/faults.py runs the same faults longer and with more users."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fault_clients import Socket
from tests.fault_scenarios import Report, run_fault
from tests.faults import PostgresServer, RedisServer, Stack, create_users

PAIRS, LONG_CALLS = 2, 2


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    postgres, redis = PostgresServer(folder), RedisServer(folder)
    postgres.start()
    redis.start()
    stack = Stack(folder, postgres, redis)
    try:
        stack.start()
        users = create_users(stack, 2 * (PAIRS + LONG_CALLS))
        yield stack, postgres, redis, users
    finally:
        stack.stop()
        postgres.stop()
        redis.stop()


def fault(chaos, name: str, seconds: float = 0) -> Report:
    stack, postgres, redis, users = chaos
    report = asyncio.run(
        run_fault(name, stack, postgres, redis, users, seconds=seconds, pairs=PAIRS, long_calls=LONG_CALLS)
    )
    print(report.row(), report.details)
    assert (report.lost, report.duplicated) == (0, 0), report.details
    assert report.acked_total > 0
    assert "server_error" not in report.errors, report
    return report


def test_redis_back_empty_calls_work_within_10_s_without_any_client_reconnecting(chaos):
    report = fault(chaos, "redis_restart_empty", seconds=4)
    assert report.first_call_after_heal is not None and report.first_call_after_heal <= 10, report
    assert report.reconnects == 0, report
    assert report.long_calls_ended == 0, report
    # A socket signing in after the heal gets its group (no dead pooled connection sheds it 4013).
    stack, _, _, users = chaos
    asyncio.run(sign_in_and_out(stack, *users[0]))


async def sign_in_and_out(stack: Stack, user_id: str, token: str) -> None:
    socket = Socket(stack, user_id, token)
    await socket.open()
    assert socket.closed_with is None
    await socket.request({"type": "ping"})
    await socket.close()


def test_redis_frozen_every_answer_comes_within_5_s_and_nothing_stale_blocks_after(chaos):
    report = fault(chaos, "redis_freeze", seconds=6)
    assert report.slowest_answer <= 5.5, report
    assert report.first_call_after_heal is not None and report.first_call_after_heal <= 10, report
    assert report.long_calls_ended == 0, report


def test_killed_celery_worker_and_beat_are_restarted_and_no_call_notices(chaos):
    stack = chaos[0]
    before = stack.children()
    report = fault(chaos, "celery_kill", seconds=4)
    after = stack.children()
    assert after["beat"] != before["beat"] and after["worker"] != before["worker"]
    assert after["asgi"] == before["asgi"]
    assert stack.process.poll() is None, "the stack stopped"
    assert (report.long_calls_ended, report.health_failures, report.reconnects) == (0, 0, 0), report
    assert f"beat (pid {before['beat']}) exited" in stack.tail(200_000)


def test_postgres_frozen_every_answer_comes_within_5_s_as_a_503_or_service_unavailable(chaos):
    report = fault(chaos, "pg_freeze", seconds=7)
    assert report.slowest_answer <= 5.5, report
    during = report.details["rest_during"]
    assert during and all(status in (200, 503) for _, status, _ in during), during
    assert any(code == "service_unavailable" for _, status, code in during if status == 503), during
    assert report.first_call_after_heal is not None, report


def test_postgres_killed_and_restarted_loses_and_duplicates_nothing(chaos):
    report = fault(chaos, "pg_restart_fast")
    assert report.first_call_after_heal is not None and report.first_call_after_heal <= 10, report
    assert report.long_calls_ended == 0, report


def test_a_restart_of_the_stack_ends_no_live_call(chaos):
    started = time.monotonic()
    report = fault(chaos, "stack_restart")
    assert report.long_calls_ended == 0, report
    assert report.first_call_after_heal is not None, report
    print(f"restart and first call within {time.monotonic() - started:.1f} s")
