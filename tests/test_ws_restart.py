"""A restart between accept and the timer's end: the
room lives in PostgreSQL, so a new application instance (same database and Redis, nothing in
memory) resumes it for both users, and the recovery path (`end_overdue_rooms`, which beat and
`manage.py recover_rooms` run) ends what became overdue with the full bookkeeping for both."""

from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.management import call_command
from django.utils import timezone

from chat import services
from chat.models import ActiveRoom, CallInvite
from chat.routing import websocket_urlpatterns
from tests.factories import ActiveRoomFactory, CallInviteFactory, UserFactory
from tests.ws_helpers import (
    Sockets,
    age_room,
    assert_room_finished,
    get_invite,
    get_room,
    run,
    start_room,
)

pytestmark = pytest.mark.django_db(transaction=True)


def new_application():
    """A fresh ASGI application: what a restarted process builds (no state carried over)."""
    return ProtocolTypeRouter({"websocket": URLRouter(websocket_urlpatterns)})


def kill(ws: Sockets, *sockets) -> None:
    """The process dies: its consumers stop without running any disconnect bookkeeping."""
    for socket in sockets:
        ws.opened.remove(socket)
        socket.future.cancel()


async def test_restart_between_accept_and_timer_end_resumes_then_recovery_ends_it(ws, alice, bob):
    from config.asgi import application as instance_a

    a, b, room = await start_room(ws, alice, bob, mode="video", seconds=300, application=instance_a)
    before = await get_room(room)
    await ws.disconnect(a)  # the old process closes its sockets on the way down
    await ws.disconnect(b)

    instance_b = new_application()
    a2 = await ws.connect(alice, application=instance_b)
    b2 = await ws.connect(bob, application=instance_b)
    resume_a = await a2.receive_until("room.resume")
    resume_b = await b2.receive_until("room.resume")

    assert resume_a["room"] == resume_b["room"] == room
    assert resume_a["ends_at"] == resume_b["ends_at"] == before.ends_at.isoformat()
    assert resume_a["partner"]["id"] == str(bob.pk)
    assert resume_b["partner"]["id"] == str(alice.pk)
    assert (await get_room(room)).status == ActiveRoom.Status.ACTIVE

    await age_room(room, 300 + 5)  # the timer ran out (5 s ago)
    await run(services.end_overdue_rooms)()

    for socket in (a2, b2):
        ended = await socket.receive_until("room.ended", room=room)
        assert ended["reason"] == "timer"
        await socket.receive_until("me.metrics")
    await assert_room_finished(room, alice, bob, reason="timer", duration=300)


async def test_killed_process_room_resumes_on_a_new_instance(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    sent = await a.ok({"type": "chat.message", "room": room, "client_id": "a1", "text": "before the crash"})
    kill(ws, a, b)  # no disconnect ran: no grace, presence left to lapse

    instance_b = new_application()
    b2 = await ws.connect(bob, application=instance_b)
    a2 = await ws.connect(alice, application=instance_b)

    for socket in (a2, b2):
        resume = await socket.receive_until("room.resume")
        assert resume["room"] == room
        assert [m["message_id"] for m in resume["messages"]] == [sent["message_id"]]
    assert (await get_room(room)).status == ActiveRoom.Status.ACTIVE
    # The room works on the new instance.
    await a2.send({"type": "rtc.offer", "room": room, "sdp": "v=0"})
    await b2.receive_until("rtc.offer")


async def test_recovery_ends_room_whose_timer_ran_out_while_nothing_ran(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="video", seconds=120)
    await ws.disconnect(a)
    await ws.disconnect(b)
    await age_room(room, 120 + 60)  # down for a minute past the end

    await run(services.end_overdue_rooms)()

    await assert_room_finished(room, alice, bob, reason="timer", duration=120)
    # Clients coming back find no room to resume.
    a2 = await ws.connect(alice, application=new_application())
    await a2.assert_no_event("room.resume")


async def test_client_reconnecting_after_the_timer_ran_out_gets_room_ended_not_resume(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="video", seconds=120)
    await ws.disconnect(a)
    await ws.disconnect(b)
    await age_room(room, 120 + 30)  # nothing ran while the timer ran out

    a2 = await ws.connect(alice, application=new_application())

    ended = await a2.receive_until("room.ended", room=room)
    assert ended["reason"] == "timer"
    await a2.assert_no_event("room.resume")
    await assert_room_finished(room, alice, bob, reason="timer", duration=120)


async def test_recovery_is_safe_to_run_twice(ws, alice, bob):
    a, _b, room = await start_room(ws, alice, bob, mode="video", seconds=120)
    await age_room(room, 200)

    await run(services.end_overdue_rooms)()
    await run(services.end_overdue_rooms)()

    rows = await assert_room_finished(room, alice, bob, reason="timer", duration=120)
    assert rows[str(alice.pk)]["session_count"] == 1
    await a.receive_until("room.ended")
    await a.assert_no_event("room.ended")


# --- manage.py recover_rooms -------------------------------------------------------------------


def test_recover_rooms_command_ends_a_room_that_ran_out_while_nothing_ran(alice, bob):
    started = timezone.now() - timedelta(seconds=400)
    room = ActiveRoomFactory(
        user_1=alice,
        user_2=bob,
        chat_mode="video",
        duration_seconds=300,
        started_at=started,
        user_1_connected=True,
        user_2_connected=True,
    )
    out = StringIO()

    call_command("recover_rooms", stdout=out)

    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.ENDED
    assert room.end_reason == "timer"
    assert "1 room(s) acted on" in out.getvalue()
    async_to_sync(assert_room_finished)(room.pk, alice, bob, reason="timer", duration=300)


def test_recover_rooms_command_leaves_running_room_live_with_grace_for_absent_members(alice, bob):
    room = ActiveRoomFactory(
        user_1=alice, user_2=bob, duration_seconds=600, user_1_connected=True, user_2_connected=True
    )

    call_command("recover_rooms", stdout=StringIO())

    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.GRACE_PERIOD
    assert room.grace_period_expires > timezone.now()
    assert room.ended_at is None


def test_recover_rooms_command_expires_invites_left_pending(alice, bob):
    past = timezone.now() - timedelta(seconds=30)
    invite = CallInviteFactory(from_user=alice, to_user=bob, created_at=past, expires_at=past + timedelta(seconds=20))

    call_command("recover_rooms", stdout=StringIO())

    invite.refresh_from_db()
    assert invite.status == CallInvite.Status.EXPIRED


def test_recover_rooms_command_twice_counts_once(alice, bob):
    started = timezone.now() - timedelta(seconds=400)
    room = ActiveRoomFactory(user_1=alice, user_2=bob, duration_seconds=300, started_at=started)

    call_command("recover_rooms", stdout=StringIO())
    call_command("recover_rooms", stdout=StringIO())

    alice.refresh_from_db()
    assert alice.session_count == 1
    assert alice.timer_total_seconds == 300
    assert room.completions.count() == 2


async def test_room_left_live_by_recovery_resumes_when_clients_reconnect_within_grace(ws):
    alice = await run(UserFactory)(name="Alice")
    bob = await run(UserFactory)(name="Bob")
    room = await run(ActiveRoomFactory)(
        user_1=alice, user_2=bob, duration_seconds=600, user_1_connected=True, user_2_connected=True
    )
    await run(call_command)("recover_rooms", stdout=StringIO())
    assert (await get_room(room.pk)).status == ActiveRoom.Status.GRACE_PERIOD

    application = new_application()
    a = await ws.connect(alice, application=application)
    b = await ws.connect(bob, application=application)

    for socket in (a, b):
        resume = await socket.receive_until("room.resume")
        assert resume["room"] == str(room.pk)
    assert (await get_room(room.pk)).status == ActiveRoom.Status.ACTIVE


async def test_expired_invite_found_after_restart_cannot_be_accepted(ws, alice, bob):
    past = timezone.now() - timedelta(seconds=30)
    invite = await run(CallInviteFactory)(
        from_user=alice, to_user=bob, created_at=past, expires_at=past + timedelta(seconds=20)
    )
    b = await ws.connect(bob, application=new_application())

    await b.refused({"type": "call.accept", "invite": str(invite.pk), "seconds": 300}, "invite_expired")

    assert (await get_invite(invite.pk)).status == CallInvite.Status.EXPIRED
