"""The realtime hot path (docs/hot-path.md): each hot operation is one SQL statement, the SQL
timer rule agrees with the Python one, and a process runs one room timer per room."""

import asyncio
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.selectors import authenticate_token
from accounts.services.sessions import start_session
from chat import consumers, services
from chat.event_mode import ensure_event_open
from chat.models import ActiveRoom
from tests.chat_support import go_online, now
from tests.factories import ActiveRoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def statements(fn, *args, **kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn(*args, **kwargs)
    return len(captured)


def test_every_hot_operation_is_one_statement(clock):
    alice, bob, carol, dave = (UserFactory() for _ in range(4))
    token = start_session(alice, ip="127.0.0.1")
    clock.shift(timedelta(minutes=5))  # last_active_at is due a touch: still the same statement
    go_online(alice, bob, carol, dave)
    ensure_event_open(alice)  # the event-mode settings snapshot is cached from the first check on (Redis)

    assert statements(authenticate_token, token, ip="127.0.0.1") == 1
    with CaptureQueriesContext(connection) as captured:
        invite = services.send_invite(alice, to=bob.pk, mode="text", seconds=60)
    assert len(captured) == 1
    with CaptureQueriesContext(connection) as captured:
        room = services.accept_invite(bob, invite_id=invite.pk, seconds=60)
    assert len(captured) == 1
    assert statements(services.post_message, alice, room_id=room.pk, client_id="c1", text="hi") == 1
    clock.shift(timedelta(seconds=40))
    assert statements(services.end_room_by_member, bob, room_id=room.pk) == 1
    other = services.send_invite(carol, to=dave.pk, mode="video", seconds=60)
    # The settle is one statement; the invite it returns is read after it.
    assert statements(services.decline_invite, dave, invite_id=other.pk) == 2


@pytest.mark.parametrize(
    "fields, seconds_later",
    [
        ({}, 10),
        ({}, 301),  # the timer
        ({"status": "grace_period", "user_2_connected": False}, 5),
        ({"status": "grace_period", "user_2_connected": False}, 11),  # grace expired
        ({"chat_mode": "text"}, 119),
        ({"chat_mode": "text"}, 121),  # inactivity
        ({"chat_mode": "text", "upgraded_at": "start"}, 121),  # upgraded: no inactivity rule
        ({"chat_mode": "text", "user_1_last_message_at": "start+100"}, 150),  # user 2 silent
        ({"chat_mode": "text", "user_1_last_message_at": "start+100", "user_2_last_message_at": "start+90"}, 150),
        ({"status": "ended", "end_reason": "user_ended", "ended_at": "start"}, 400),
    ],
)
def test_the_sql_timer_rule_agrees_with_the_python_one(clock, fields, seconds_later):
    start = now()
    resolved = {}
    for key, value in fields.items():
        if value == "start":
            value = start
        elif isinstance(value, str) and value.startswith("start+"):
            value = start + timedelta(seconds=int(value.removeprefix("start+")))
        resolved[key] = value
    if resolved.get("status") == "grace_period":
        resolved["grace_period_expires"] = start + timedelta(seconds=10)
    room = ActiveRoomFactory(duration_seconds=300, started_at=start, ends_at=start + timedelta(seconds=300), **resolved)
    at = start + timedelta(seconds=seconds_later)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rdv_room_due(r, %s) FROM active_rooms r WHERE r.id = %s", [at, room.pk])
        sql_reason = cursor.fetchone()[0]
    room = ActiveRoom.objects.get(pk=room.pk)
    python_reason = None if room.status == "ended" else room.due(at)
    assert sql_reason == python_reason


def test_a_process_runs_one_timer_per_room_however_many_sockets_watch_it():
    async def scenario():
        timers = consumers.RoomTimers()
        started = []

        async def fake_run(room_id):
            started.append(room_id)
            await asyncio.sleep(3600)

        timers._run = fake_run
        first = timers.watch("room-1")
        second = timers.watch("room-1")
        await asyncio.sleep(0)
        assert started == ["room-1"]
        assert len(timers.tasks) == 1
        first.cancel()
        await asyncio.sleep(0)
        assert not timers.tasks["room-1"].done()  # the other socket still watches
        second.cancel()
        await asyncio.sleep(0)
        assert "room-1" not in timers.tasks

    asyncio.run(scenario())
