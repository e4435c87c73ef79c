"""Server-side room timers: the end at ends_at, the 10 s grace after a disconnect (and
`room.resume` within it), the text-room inactivity rule (warning at 60 s of silence, end at
120 s; not for video or upgraded rooms), and the sweeps that apply them after a restart:
the beat (`end_overdue_rooms`, `start_grace_for_vanished_members`) and `recover_rooms`.
Timers are timestamps, so the tests move the clock and ask the services to look."""

import io
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from chat import presence, tasks
from chat.models import ActiveRoom, CallInvite, SessionCompletion
from chat.services import (
    accept_upgrade,
    apply_room_timers,
    end_overdue_rooms,
    mark_connected,
    mark_disconnected,
    post_message,
    request_upgrade,
    start_grace_for_vanished_members,
)
from tests.chat_support import now
from tests.factories import ActiveRoomFactory, CallInviteFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------


def room_between(user_1, user_2, *, seconds=300, mode="video", **kwargs) -> ActiveRoom:
    """A live room starting now with both sides connected (as accept makes it)."""
    return ActiveRoomFactory(
        **kwargs,
        user_1=user_1,
        user_2=user_2,
        chat_mode=mode,
        duration_seconds=seconds,
        user_1_connected=True,
        user_2_connected=True,
    )


def reload(room: ActiveRoom) -> ActiveRoom:
    return ActiveRoom.objects.get(pk=room.pk)


def say(user, room, text="hello") -> None:
    post_message(user, room_id=room.pk, client_id=f"{user.pk}-{now().timestamp()}", text=text)


# --- the call length --------------------------------------------------------------------------


def test_apply_room_timers_ends_the_room_at_ends_at_with_reason_timer(alice, bob, clock):
    room = room_between(alice, bob, seconds=300)
    clock.shift(timedelta(seconds=299))
    assert apply_room_timers(room.pk) is None
    assert reload(room).status == ActiveRoom.Status.ACTIVE

    clock.shift(timedelta(seconds=1))
    assert apply_room_timers(room.pk) == "timer"

    room = reload(room)
    assert (room.status, room.end_reason, room.ended_at) == ("ended", "timer", now())
    assert set(SessionCompletion.objects.values_list("duration_seconds", flat=True)) == {300}
    assert apply_room_timers(room.pk) is None  # already ended: nothing to do


def test_apply_room_timers_of_an_unknown_room_does_nothing(db):
    assert apply_room_timers("00000000-0000-0000-0000-000000000000") is None


# --- grace after a disconnect -----------------------------------------------------------------


def test_a_disconnect_starts_a_10_second_grace_and_tells_the_partner(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=30))
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        mark_disconnected(alice, room_id=room.pk)

    room = reload(room)
    assert room.status == ActiveRoom.Status.GRACE_PERIOD
    assert room.grace_period_expires == now() + timedelta(seconds=10)
    assert (room.user_1_connected, room.user_2_connected) == (False, True)
    events = box.drain()
    assert events[alice.pk] == []
    assert events[bob.pk] == [
        {
            "type": "room.partner_disconnected",
            "room": str(room.pk),
            "grace_until": room.grace_period_expires.isoformat(),
        }
    ]


def test_a_stranger_disconnecting_changes_nothing(alice, bob, stranger):
    room = room_between(alice, bob)

    assert mark_disconnected(stranger, room_id=room.pk) is None

    assert reload(room).status == ActiveRoom.Status.ACTIVE


def test_reconnecting_within_the_grace_restores_the_room_and_returns_the_resume_payload(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=30))
    mark_disconnected(bob, room_id=room.pk)
    clock.shift(timedelta(seconds=9))
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        resume = mark_connected(bob)

    room = reload(room)
    assert room.status == ActiveRoom.Status.ACTIVE
    assert room.grace_period_expires is None
    assert (room.user_1_connected, room.user_2_connected) == (True, True)
    assert resume["room"] == str(room.pk)
    assert resume["status"] == ActiveRoom.Status.ACTIVE
    assert resume["ends_at"] == room.ends_at.isoformat()
    assert resume["partner"]["id"] == str(alice.pk)
    assert box.drain() == {alice.pk: [{"type": "room.partner_reconnected", "room": str(room.pk)}], bob.pk: []}
    clock.shift(timedelta(seconds=5))  # past the old grace expiry: nothing happens now
    assert apply_room_timers(room.pk) is None
    assert reload(room).status == ActiveRoom.Status.ACTIVE


def test_past_the_grace_apply_room_timers_ends_the_room_as_disconnect(alice, bob, clock):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=20))
    mark_disconnected(alice, room_id=room.pk)
    clock.shift(timedelta(seconds=9))
    assert apply_room_timers(room.pk) is None

    clock.shift(timedelta(seconds=1))
    assert apply_room_timers(room.pk) == "disconnect"

    room = reload(room)
    assert (room.status, room.end_reason) == ("ended", "disconnect")
    assert set(SessionCompletion.objects.values_list("duration_seconds", flat=True)) == {30}


def test_reconnecting_after_the_grace_gets_no_resume_and_the_room_ends(
    alice, bob, clock, django_capture_on_commit_callbacks
):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=20))
    mark_disconnected(alice, room_id=room.pk)
    clock.shift(timedelta(seconds=11))

    with django_capture_on_commit_callbacks(execute=True):
        resume = mark_connected(alice)

    assert resume is None
    room = reload(room)
    assert (room.status, room.end_reason) == ("ended", "disconnect")


def test_a_second_disconnect_does_not_extend_the_grace_and_one_return_does_not_lift_it(alice, bob, clock):
    room = room_between(alice, bob)
    mark_disconnected(alice, room_id=room.pk)
    clock.shift(timedelta(seconds=5))
    mark_disconnected(bob, room_id=room.pk)
    clock.shift(timedelta(seconds=1))
    mark_connected(alice)  # bob is still away

    room = reload(room)
    assert room.status == ActiveRoom.Status.GRACE_PERIOD
    assert room.grace_period_expires == room.started_at + timedelta(seconds=10)
    clock.shift(timedelta(seconds=4))
    assert apply_room_timers(room.pk) == "disconnect"


# --- text-room inactivity ---------------------------------------------------------------------


def test_after_60_seconds_of_silence_a_text_room_warns_both_once(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    room = room_between(alice, bob, mode="text")
    clock.shift(timedelta(seconds=59))
    assert apply_room_timers(room.pk) is None
    clock.shift(timedelta(seconds=1))
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        assert apply_room_timers(room.pk) == "warned"
        clock.shift(timedelta(seconds=5))
        assert apply_room_timers(room.pk) is None  # once

    warning = {
        "type": "room.inactivity_warning",
        "room": str(room.pk),
        "ends_at": (room.started_at + timedelta(seconds=120)).isoformat(),
    }
    assert box.drain() == {alice.pk: [warning], bob.pk: [warning]}
    assert reload(room).inactivity_warned_at == room.started_at + timedelta(seconds=60)
    assert reload(room).status == ActiveRoom.Status.ACTIVE


def test_120_seconds_of_silence_ends_a_text_room_as_inactivity(alice, bob, clock):
    room = room_between(alice, bob, mode="text", seconds=600)
    clock.shift(timedelta(seconds=60))
    assert apply_room_timers(room.pk) == "warned"
    clock.shift(timedelta(seconds=59))
    assert apply_room_timers(room.pk) is None

    clock.shift(timedelta(seconds=1))
    assert apply_room_timers(room.pk) == "inactivity"

    room = reload(room)
    assert (room.status, room.end_reason) == ("ended", "inactivity")
    assert set(SessionCompletion.objects.values_list("duration_seconds", flat=True)) == {120}


def test_a_message_from_each_side_clears_the_warning_and_restarts_the_clock(alice, bob, clock):
    room = room_between(alice, bob, mode="text", seconds=600)
    clock.shift(timedelta(seconds=60))
    assert apply_room_timers(room.pk) == "warned"
    clock.shift(timedelta(seconds=1))
    say(alice, room)
    assert reload(room).inactivity_warned_at is None  # any message clears it
    clock.shift(timedelta(seconds=2))
    say(bob, room)

    clock.shift(timedelta(seconds=57))  # 120 s after the start: both spoke within the last minute
    assert apply_room_timers(room.pk) is None
    assert reload(room).status == ActiveRoom.Status.ACTIVE
    assert reload(room).next_deadline() == room.started_at + timedelta(seconds=61 + 60)

    clock.shift(timedelta(seconds=1))  # 60 s after alice's message
    assert apply_room_timers(room.pk) == "warned"
    clock.shift(timedelta(seconds=60))
    assert apply_room_timers(room.pk) == "inactivity"


def test_one_side_staying_silent_for_120_seconds_is_enough(alice, bob, clock):
    room = room_between(alice, bob, mode="text", seconds=600)
    for _ in range(5):
        clock.shift(timedelta(seconds=20))
        say(alice, room)
        apply_room_timers(room.pk)
    assert reload(room).status == ActiveRoom.Status.ACTIVE  # 100 s in, bob silent throughout

    clock.shift(timedelta(seconds=20))
    assert apply_room_timers(room.pk) == "inactivity"


def test_video_rooms_never_end_for_inactivity(alice, bob, clock):
    room = room_between(alice, bob, mode="video", seconds=600)
    clock.shift(timedelta(seconds=599))

    assert apply_room_timers(room.pk) is None

    room = reload(room)
    assert room.status == ActiveRoom.Status.ACTIVE
    assert room.inactivity_warned_at is None


def test_a_text_room_upgraded_to_video_never_ends_for_inactivity(alice, bob, clock):
    room = room_between(alice, bob, mode="text", seconds=600)
    clock.shift(timedelta(seconds=59))
    say(alice, room)
    say(bob, room)
    clock.shift(timedelta(seconds=1))
    request_upgrade(alice, room_id=room.pk)
    accept_upgrade(bob, room_id=room.pk)
    assert reload(room).chat_mode == "video"

    clock.shift(timedelta(seconds=500))
    assert apply_room_timers(room.pk) is None
    assert reload(room).status == ActiveRoom.Status.ACTIVE
    clock.shift(timedelta(seconds=40))
    assert apply_room_timers(room.pk) == "timer"


# --- sweeps and recovery ----------------------------------------------------------------------


@pytest.fixture
def rooms_of_every_kind(clock):
    """At T0+130 s: three rooms are due, one needs a warning, two are fine."""
    users = [UserFactory() for _ in range(12)]
    rooms = {
        "overdue": room_between(users[0], users[1], seconds=60),
        "grace_over": room_between(users[2], users[3], seconds=600),
        "silent_text": room_between(users[4], users[5], mode="text", seconds=600),
        "fine_video": room_between(users[6], users[7], seconds=600),
        "chatty_text": room_between(users[8], users[9], mode="text", seconds=600),
    }
    clock.shift(timedelta(seconds=50))
    mark_disconnected(users[2], room_id=rooms["grace_over"].pk)  # grace until T0+60
    clock.shift(timedelta(seconds=10))
    rooms["quiet_text"] = room_between(users[10], users[11], mode="text", seconds=600)  # starts T0+60
    clock.shift(timedelta(seconds=40))
    say(users[8], rooms["chatty_text"])
    say(users[9], rooms["chatty_text"])
    clock.shift(timedelta(seconds=30))  # T0+130
    return rooms


EXPECTED_AFTER_SWEEP = {
    "overdue": ("ended", "timer"),
    "grace_over": ("ended", "disconnect"),
    "silent_text": ("ended", "inactivity"),
    "fine_video": ("active", ""),
    "chatty_text": ("active", ""),
    "quiet_text": ("active", ""),
}


def test_end_overdue_rooms_ends_every_overdue_room_and_leaves_the_others(rooms_of_every_kind):
    acted = end_overdue_rooms()

    assert acted == 4  # three ended, one warned
    for name, room in rooms_of_every_kind.items():
        room = reload(room)
        assert (room.status, room.end_reason) == EXPECTED_AFTER_SWEEP[name], name
    assert reload(rooms_of_every_kind["quiet_text"]).inactivity_warned_at is not None
    assert reload(rooms_of_every_kind["chatty_text"]).inactivity_warned_at is None
    assert end_overdue_rooms() == 0  # nothing left to do


def test_the_beat_task_sweeps_rooms(rooms_of_every_kind):
    tasks.sweep_rooms()

    for name in ("overdue", "grace_over", "silent_text"):
        assert reload(rooms_of_every_kind[name]).status == ActiveRoom.Status.ENDED, name
    assert reload(rooms_of_every_kind["fine_video"]).status != ActiveRoom.Status.ENDED


def test_members_with_no_presence_get_the_grace_as_if_they_had_disconnected(alice, bob, stranger, clock):
    charlie = UserFactory()
    vanished = room_between(alice, bob)
    connected = room_between(stranger, charlie)
    for user in (alice, stranger, charlie):
        presence.touch(user.pk, "test-channel")

    started = start_grace_for_vanished_members()

    assert started == 1
    vanished = reload(vanished)
    assert vanished.status == ActiveRoom.Status.GRACE_PERIOD
    assert vanished.grace_period_expires == now() + timedelta(seconds=10)
    assert (vanished.user_1_connected, vanished.user_2_connected) == (True, False)
    assert reload(connected).status == ActiveRoom.Status.ACTIVE
    assert start_grace_for_vanished_members() == 0  # already in grace


@pytest.mark.django_db(transaction=True)
def test_the_vanished_member_sweep_leaves_active_a_room_whose_member_came_back_while_it_ran(alice, bob):
    room = room_between(alice, bob)
    presence.touch(alice.pk, "test-channel")  # Bob's socket is gone (his server died)
    locked, release = threading.Event(), threading.Event()

    def hold_the_room():  # someone else holds the room's lock while the sweep reaches it
        with transaction.atomic():
            ActiveRoom.objects.select_for_update().get(pk=room.pk)
            locked.set()
            release.wait(20)
        connection.close()

    def sweep():
        try:
            return start_grace_for_vanished_members()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(hold_the_room)
        assert locked.wait(10)
        swept = pool.submit(sweep)  # it read the online set (Bob not in it) and waits for the lock
        deadline = time.monotonic() + 10
        while not _someone_waits_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        presence.touch(bob.pk, "bob-is-back")  # Bob's new socket signs in on another server
        release.set()
        holder.result(timeout=20)
        assert swept.result(timeout=20) == 0

    room = reload(room)
    assert room.status == ActiveRoom.Status.ACTIVE
    assert (room.user_1_connected, room.user_2_connected) == (True, True)


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_recover_rooms_ends_overdue_rooms_and_leaves_running_ones_live(alice, bob, stranger, clock):
    charlie = UserFactory()
    overdue = room_between(alice, bob, seconds=60)
    running = room_between(stranger, charlie, seconds=600)
    stale_invite = CallInviteFactory()
    clock.shift(timedelta(seconds=90))  # "the server was down"
    for user in (stranger, charlie):
        presence.touch(user.pk, "test-channel")  # they reconnected
    out = io.StringIO()

    call_command("recover_rooms", stdout=out)

    overdue = reload(overdue)
    assert (overdue.status, overdue.end_reason) == ("ended", "timer")
    assert set(SessionCompletion.objects.values_list("duration_seconds", flat=True)) == {60}
    assert reload(running).status == ActiveRoom.Status.ACTIVE
    stale_invite.refresh_from_db()
    assert stale_invite.status == CallInvite.Status.EXPIRED
    assert "1 room(s)" in out.getvalue()
    assert "1 invite(s)" in out.getvalue()


def test_the_room_sweep_reaches_an_overdue_room_behind_a_full_batch_of_rooms_that_are_not_due(clock):
    users = [UserFactory() for _ in range(8)]
    started = now() - timedelta(seconds=100)
    chatty = [  # text rooms 100 s old whose users both just wrote: candidates, never due
        room_between(
            users[2 * i],
            users[2 * i + 1],
            mode="text",
            seconds=1800,
            id=uuid.UUID(int=i + 1),
            started_at=started,
            user_1_last_message_at=now(),
            user_2_last_message_at=now(),
        )
        for i in range(3)
    ]
    overdue = room_between(users[6], users[7], seconds=60, started_at=started, id=uuid.UUID(int=2**128 - 1))

    for _ in range(3):  # three beats
        end_overdue_rooms(limit=3)

    assert all(reload(room).status == ActiveRoom.Status.ACTIVE for room in chatty)
    assert reload(overdue).status == ActiveRoom.Status.ENDED


def test_the_grace_sweep_reaches_a_vanished_member_behind_a_full_batch_of_online_members(alice, bob, stranger):
    charlie = UserFactory()
    online = room_between(stranger, charlie, id=uuid.UUID(int=1))
    vanished = room_between(alice, bob, id=uuid.UUID(int=2**128 - 1))
    for user in (stranger, charlie, alice):
        presence.touch(user.pk, "test-channel")

    for _ in range(3):  # three beats
        start_grace_for_vanished_members(limit=2)

    assert reload(online).status == ActiveRoom.Status.ACTIVE
    assert reload(vanished).status == ActiveRoom.Status.GRACE_PERIOD


# --- next_deadline ----------------------------------------------------------------------------


def test_next_deadline_of_a_video_room_is_its_end(alice, bob, clock):
    room = room_between(alice, bob, seconds=300)

    assert room.next_deadline() == room.started_at + timedelta(seconds=300)


def test_next_deadline_of_a_silent_text_room_is_the_warning_then_the_inactivity_end(alice, bob, clock):
    room = room_between(alice, bob, mode="text", seconds=600)
    assert room.next_deadline() == room.started_at + timedelta(seconds=60)

    clock.shift(timedelta(seconds=60))
    apply_room_timers(room.pk)
    assert reload(room).next_deadline() == room.started_at + timedelta(seconds=120)


def test_next_deadline_of_a_short_text_room_is_its_end(alice, bob, clock):
    room = room_between(alice, bob, mode="text", seconds=60)

    assert room.next_deadline() == room.ends_at


def test_next_deadline_in_grace_is_the_grace_expiry(alice, bob, clock):
    room = room_between(alice, bob, seconds=300)
    clock.shift(timedelta(seconds=100))
    mark_disconnected(alice, room_id=room.pk)

    assert reload(room).next_deadline() == now() + timedelta(seconds=10)
