"""The realtime hot path (docs/hot-path.md): each hot operation is one SQL statement, the SQL
timer rule is one SQL function read with the room, and a process runs one room timer per room."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.selectors import authenticate_token
from accounts.services.sessions import start_session
from chat import consumers, outbound, services
from chat.event_mode import ensure_event_open
from chat.models import ActiveRoom
from chat.outbound import RoomTimer
from config import realtime
from config.db_threads import db_call
from screening.rules import current_rules
from tests.chat_support import go_online, now
from tests.factories import ActiveRoomFactory, UserFactory
from tests.ws_helpers import start_room

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
    current_rules()  # the screening rules are cached in the process from the first message on

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
    "fields, seconds_later, reason",
    [
        ({}, 10, None),
        ({}, 301, "timer"),
        ({"status": "grace_period", "user_2_connected": False}, 5, None),
        ({"status": "grace_period", "user_2_connected": False}, 11, "disconnect"),  # grace expired
        ({"chat_mode": "text"}, 119, None),
        ({"chat_mode": "text"}, 121, "inactivity"),
        ({"chat_mode": "text", "upgraded_at": "start"}, 121, None),  # upgraded: no inactivity rule
        ({"chat_mode": "text", "user_1_last_message_at": "start+100"}, 150, "inactivity"),  # user 2 silent
        ({"chat_mode": "text", "user_1_last_message_at": "start+100", "user_2_last_message_at": "start+90"}, 150, None),
        ({"status": "ended", "end_reason": "user_ended", "ended_at": "start"}, 400, None),
    ],
)
def test_a_rooms_due_time_is_one_sql_rule_read_with_the_room(clock, fields, seconds_later, reason):
    """rdv_room_due (chat/sql/room_due.sql) is the one definition: the message statement calls it,
    and Python reads it with the room (ActiveRoom.objects.with_due)."""
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
    assert ActiveRoom.objects.with_due(at).get(pk=room.pk).due_reason == reason


def test_a_process_runs_one_timer_per_room_however_many_sockets_watch_it():
    async def scenario():
        timers = consumers.RoomTimers()
        started = []

        async def fake_run(room_id, first_deadline=None):
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


# --- typed signals: the room timer's meaning of an event, the loop a push goes to -------------


def test_what_an_event_means_for_the_room_timer_is_stated_by_its_typed_model():
    by_meaning = {}
    for kind, model in outbound.TYPES.items():
        by_meaning.setdefault(model.room_timer, set()).add(kind)

    assert by_meaning[RoomTimer.WATCH] == {"room.start"}
    assert by_meaning[RoomTimer.REARM] == {
        "room.partner_disconnected",
        "room.partner_reconnected",
        "room.inactivity_warning",
        "room.upgraded",
    }
    assert by_meaning[RoomTimer.STOP] == {"room.ended"}
    assert outbound.room_timer_of("chat.message") is RoomTimer.NONE
    assert outbound.room_timer_of("no.such.event") is RoomTimer.NONE


class Recorder:
    """Stands in for the layer's batch send: which thread sent, and what, per call."""

    def __init__(self):
        self.calls = []

    async def push_to_groups(self, items, *, message_type):
        self.calls.append((threading.current_thread(), [(groups, event["type"]) for groups, event in items]))


def _commit_two_pushes(alice, bob):
    realtime.send_to_users([alice], {"type": "test.one"})
    realtime.send_to_users([bob], {"type": "test.two"})


@pytest.mark.django_db(transaction=True)
async def test_pushes_of_one_database_call_go_to_its_event_loop_as_one_batch(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recorder)

    await db_call(_commit_two_pushes, "a", "b")
    for _ in range(10):  # the flush task runs on this loop
        await asyncio.sleep(0.01)

    assert recorder.calls == [(threading.main_thread(), [(["user.a"], "test.one"), (["user.b"], "test.two")])]


def test_without_an_event_loop_a_push_is_sent_before_the_call_returns(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recorder)

    realtime._committed(["a"], {"type": "test.one"})  # what on_commit runs (Celery, commands)

    assert [items for _, items in recorder.calls] == [[(["user.a"], "test.one")]]


async def test_the_asgi_entry_binds_its_event_loop_for_the_threads_of_its_requests():
    seen = {}

    async def app(scope, receive, send):
        seen["loop"] = await asyncio.to_thread(realtime._push_loop.get)

    await realtime.PushLoopMiddleware(app)({"type": "http"}, None, None)

    assert seen["loop"] is asyncio.get_running_loop()


# --- in-process delivery ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_push_to_a_socket_of_this_process_never_goes_through_redis(ws, alice, bob, monkeypatch):
    from channels.layers import get_channel_layer

    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=300)
    layer = get_channel_layer()

    through_redis = []
    real_deserialize = layer.deserialize

    def deserialize(content):  # every message this process takes from Redis passes here
        message = real_deserialize(content)
        through_redis.append(message.get("event", {}).get("type"))
        return message

    monkeypatch.setattr(layer, "deserialize", deserialize)
    await a.ok({"type": "chat.message", "room": room, "client_id": "c1", "text": "hi"})

    assert (await b.receive_until("chat.message", room=room))["text"] == "hi"
    assert (await a.receive_until("chat.message", room=room))["text"] == "hi"
    assert "chat.message" not in through_redis


@pytest.mark.django_db(transaction=True)
async def test_a_group_push_reaches_a_socket_of_another_process_through_redis(ws, alice, inbox):
    # `inbox` listens on layer instances of their own, as another process's sockets would.
    box = await asyncio.to_thread(inbox, alice)

    await db_call(realtime.send_to_users, [alice.pk], {"type": "test.far"})

    events = await asyncio.to_thread(box.drain)
    assert [e["type"] for e in events[alice.pk]] == ["test.far"]
