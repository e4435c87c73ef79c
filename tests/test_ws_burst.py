"""Sockets under a burst (issue 14): Redis pools that wait instead of failing, a disconnect
whose bookkeeping survives a failing step, the auth deadline as the client's time only, load
shedding with 4013, the per-user socket limit (4029), and presence updates that reach only
the sockets whose reel could show that user."""

import asyncio
import threading

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from accounts.models import User
from chat import consumers, presence
from chat.models import Cooldown
from config.channel_layer import CancelSafeRedisChannelLayer
from config.ratelimit import redis_client
from tests.factories import CooldownFactory, ReportFactory, UserFactory
from tests.ws_helpers import run, start_room

pytestmark = pytest.mark.django_db(transaction=True)


# --- pools that wait ---------------------------------------------------------------------------


async def test_channel_layer_pool_exhaustion_waits_then_succeeds():
    layer = CancelSafeRedisChannelLayer(
        hosts=[{"address": settings.REDIS_URL, "max_connections": 1, "timeout": 5}], prefix="rdv:test-pool"
    )
    pool = layer.connection(0).connection_pool
    held = await pool.get_connection()  # the only connection, busy elsewhere
    try:
        waiting = asyncio.ensure_future(layer.group_add("pool-test", "chan.x"))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the group_add failed at once instead of waiting for a connection"
    finally:
        await pool.release(held)
    await asyncio.wait_for(waiting, 5)  # got the connection once it was free
    assert waiting.exception() is None
    await layer.group_discard("pool-test", "chan.x")
    await layer.flush()


def test_sync_redis_pool_exhaustion_waits_then_succeeds(settings):
    settings.REDIS_POOL_SIZE, settings.REDIS_POOL_TIMEOUT = 1, 5
    redis_client.cache_clear()
    try:
        client = redis_client()
        held = client.connection_pool.get_connection()
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("pong", client.ping()))
        thread.start()
        thread.join(0.3)
        assert thread.is_alive() and not result, "the call did not wait for the pool"
        client.connection_pool.release(held)
        thread.join(5)
        assert result == {"pong": True}
    finally:
        redis_client.cache_clear()


async def test_failing_group_discard_still_runs_the_rest_of_disconnect(ws, alice, bob, monkeypatch):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=300)
    layer = get_channel_layer()

    async def failing_discard(group, channel):
        raise ConnectionError("Redis pool exhausted")

    monkeypatch.setattr(layer, "group_discard", failing_discard)
    await ws.disconnect(a)

    gone = await b.receive_until("room.partner_disconnected", room=room)
    assert gone["room"] == room
    assert await run(presence.socket_count)(alice.pk) == 0


# --- connect path --------------------------------------------------------------------------------


def slow_auth(monkeypatch, seconds: float):
    real = consumers._authenticate

    async def slow(token, ip, *rest):
        await asyncio.sleep(seconds)
        return await real(token, ip, *rest)

    monkeypatch.setattr(consumers, "_authenticate", slow)


async def test_server_time_after_the_token_arrived_never_closes_the_socket(ws, alice, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.2)
    slow_auth(monkeypatch, 0.6)  # the server takes 3x the client's deadline to check the token

    socket = await ws.connect(alice)

    await socket.assert_nothing(timeout=0.4)
    assert await socket.is_open()


async def test_auth_queue_longer_than_its_limit_sheds_with_4013_and_a_retry_hint(ws, alice, bob, settings, monkeypatch):
    settings.WS_AUTH_CONCURRENCY, settings.WS_AUTH_QUEUE_SECONDS = 1, 0.3
    slow_auth(monkeypatch, 1.0)
    first, second = await ws.raw(), await ws.raw()
    await first.send({"type": "auth", "token": await ws.token_for(alice)})
    await asyncio.sleep(0.05)
    await second.send({"type": "auth", "token": await ws.token_for(bob)})

    code, reason, messages = await second.expect_close(timeout=3)

    assert (code, reason) == (4013, "overloaded")
    assert messages[-1] == {"type": "closing", "code": 4013, "reason": "overloaded", "retry_after": 5}
    assert (await first.receive_until("ack", **{"for": "auth"}))["user"]["id"] == str(alice.pk)


async def test_a_token_check_that_fails_unexpectedly_closes_4013_instead_of_leaving_the_socket_open(
    ws, alice, monkeypatch
):
    async def database_gone(token, ip, *rest):
        raise OperationalError("connection refused")

    monkeypatch.setattr(consumers, "_authenticate", database_gone)
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": await ws.token_for(alice)})

    code, reason, messages = await socket.expect_close()

    assert (code, reason) == (4013, "overloaded")
    assert messages[-1]["retry_after"] == 5


async def test_a_presence_registration_that_fails_closes_4013_and_the_socket_is_not_signed_in(ws, alice, monkeypatch):
    def redis_gone(*args, **kwargs):
        raise ConnectionError("Redis pool exhausted")

    monkeypatch.setattr(presence, "register", redis_gone)
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": await ws.token_for(alice)})

    code, reason, messages = await socket.expect_close()

    assert (code, reason) == (4013, "overloaded")
    assert [m["type"] for m in messages] == ["closing"]  # no ack came first


# --- per-user socket limit ---------------------------------------------------------------------


async def test_socket_beyond_the_per_user_limit_is_refused_4029(ws, alice, settings):
    settings.WS_MAX_SOCKETS_PER_USER = 2
    first = await ws.connect(alice)
    await ws.connect(alice)
    third = await ws.raw()
    await third.send({"type": "auth", "token": await ws.token_for(alice)})

    code, reason, messages = await third.expect_close()

    assert (code, reason) == (4029, "too_many_sockets")
    assert messages[-1]["limit"] == 2
    assert await run(presence.socket_count)(alice.pk) == 2
    await ws.disconnect(first)  # a tab closes: the place is free again
    assert await ws.connect(alice)


async def test_socket_limit_counts_open_sockets_that_send_no_pings(ws, alice, settings, monkeypatch):
    """The audit's bypass: sockets silent for longer than the presence lapse let more in. Here
    the lapse is 1 s (instead of 60 s) and the server's refresh 0.2 s (instead of 20 s)."""
    settings.WS_MAX_SOCKETS_PER_USER = 2
    monkeypatch.setattr(presence, "ONLINE_TTL_SECONDS", 1)
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.2)
    first = await ws.connect(alice)
    await ws.connect(alice)
    await asyncio.sleep(1.5)  # past the lapse, and neither socket sent a thing

    third = await ws.raw()
    await third.send({"type": "auth", "token": await ws.token_for(alice)})
    code, reason, _ = await third.expect_close()

    assert (code, reason) == (4029, "too_many_sockets")
    assert await run(presence.socket_count)(alice.pk) == 2
    await ws.disconnect(first)
    assert await ws.connect(alice)  # a closed socket frees its place at once


async def test_socket_limit_holds_when_tabs_connect_at_once(ws, alice, settings):
    settings.WS_MAX_SOCKETS_PER_USER = 2
    token = await ws.token_for(alice)
    sockets = [await ws.raw() for _ in range(6)]

    await asyncio.gather(*(s.send({"type": "auth", "token": token}) for s in sockets))
    outcomes = await asyncio.gather(*(s.receive_until(("ack", "closing")) for s in sockets))

    assert sorted(o["type"] for o in outcomes) == ["ack"] * 2 + ["closing"] * 4
    assert {o["reason"] for o in outcomes if o["type"] == "closing"} == {"too_many_sockets"}
    assert await run(presence.socket_count)(alice.pk) == 2


# --- presence tells only those who may know ------------------------------------------------------


@pytest.fixture
def audience(db):
    """zed, and five viewers: one who may see zed and four who may not."""
    zed = UserFactory(name="Zed")
    users = {
        "friend": UserFactory(name="Friend"),
        "cooldown": UserFactory(name="Cooldown"),
        "reporter": UserFactory(name="Reporter"),
        "banned": UserFactory(name="Banned"),
        "no_access": UserFactory(name="No access"),
    }
    CooldownFactory(user_low=users["cooldown"], user_high=zed)
    ReportFactory(reporter=users["reporter"], reported=zed)
    return zed, users


def hide(users):
    """After they connected: one is banned, one loses access (rows only, no push)."""
    User.objects.filter(pk=users["banned"].pk).update(ban_status=User.BanStatus.PERMANENT)
    User.objects.filter(pk=users["no_access"].pk).update(access_status=User.AccessStatus.UNPAID)


async def test_presence_updates_reach_only_sockets_whose_reel_may_show_that_user(ws, audience, monkeypatch):
    monkeypatch.setattr(consumers.PresenceBatch, "INTERVAL_SECONDS", 0.05)
    zed, users = audience
    viewers = {name: await ws.connect(user) for name, user in users.items()}
    await run(hide)(users)

    z = await ws.connect(zed, available=True)  # zed goes available ...
    update = await viewers["friend"].receive_until("presence.update")
    assert update["users"] == [{"user": str(zed.pk), "online": True, "available": True}]
    await ws.disconnect(z)  # ... and offline
    offline = await viewers["friend"].receive_until("presence.update")
    assert offline["users"] == [{"user": str(zed.pk), "online": False, "available": False}]

    for name in ("cooldown", "reporter", "banned", "no_access"):
        await viewers[name].assert_no_event("presence.update", timeout=0.3)


async def test_presence_update_after_a_cooldown_ended_reaches_the_viewer_again(ws, audience, monkeypatch):
    monkeypatch.setattr(consumers.PresenceBatch, "INTERVAL_SECONDS", 0.05)
    zed, users = audience
    await run(Cooldown.objects.update)(expires_at=timezone.now())
    viewer = await ws.connect(users["cooldown"])

    await ws.connect(zed, available=True)

    update = await viewer.receive_until("presence.update")
    assert [u["user"] for u in update["users"]] == [str(zed.pk)]


async def test_a_burst_of_changes_becomes_an_identity_free_tick_and_only_for_those_who_may_see(
    ws, audience, monkeypatch
):
    monkeypatch.setattr(consumers.PresenceBatch, "INTERVAL_SECONDS", 0.5)
    monkeypatch.setattr(consumers.PresenceBatch, "MAX_USERS_PER_EVENT", 1)
    zed, users = audience
    other = await run(UserFactory)(name="Other")
    await run(ReportFactory)(reporter=users["reporter"], reported=other)
    friend, reporter = await ws.connect(users["friend"]), await ws.connect(users["reporter"])

    await asyncio.gather(ws.connect(zed, available=True), ws.connect(other, available=True))

    tick = await friend.receive_until(("reel.changed", "presence.update"))
    assert tick == {"type": "reel.changed"}  # two visible changes > 1: no identities
    await reporter.assert_no_event("reel.changed", timeout=0.5)  # reported both: told nothing
    await reporter.assert_no_event("presence.update", timeout=0.1)
