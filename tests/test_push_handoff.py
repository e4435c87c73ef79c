"""A database call's pushes reach the event loop on the wake-up that hands its result over, and
still reach it when the caller stopped waiting (config.realtime.Awaited, config.db_threads)."""

import asyncio
import threading

import pytest
from django.core.cache import cache

from config import db_threads, realtime

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def delivered(monkeypatch):
    """What the loop's flush hands to the channel layer (the layer itself is not under test)."""
    seen: list = []

    async def record(pushes):
        seen.extend(pushes)

    monkeypatch.setattr(realtime, "deliver", record)
    return seen


def _push(user_id):
    realtime.send_to_users([user_id], {"type": "test.push"})  # autocommit: sent on "commit" at once
    return user_id


async def test_a_database_calls_pushes_wake_its_loop_once_with_the_result(delivered, monkeypatch):
    loop = asyncio.get_running_loop()
    wakeups = []
    original = loop.call_soon_threadsafe

    def counting(*args, **kwargs):
        wakeups.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    assert await db_threads.db_call(_push, "u1") == "u1"
    assert len(wakeups) == 1  # the result's; the pushes ride on it
    await asyncio.sleep(0)
    assert delivered == [(["u1"], {"type": "test.push"})]  # flushed before the caller went on


async def test_a_calls_pushes_still_go_out_when_its_caller_stopped_waiting(delivered):
    release = threading.Event()

    def slow_push():
        release.wait(5)
        return _push("u2")

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(db_threads.db_call(slow_push), 0.05)
    release.set()
    for _ in range(100):
        if delivered:
            break
        await asyncio.sleep(0.02)
    assert delivered == [(["u2"], {"type": "test.push"})]


def test_the_cache_builds_one_redis_client_per_pool_not_one_per_call():
    client = cache._cache  # the backend's client (config/redis_cache.py)
    assert client.get_client() is client.get_client()
    cache.set("handoff-test", 1)
    assert cache.get("handoff-test") == 1
