"""Call invites: who may be invited, the 20 s
expiry checked by timestamp, decline/cancel cooldowns, and accept (room length, retries,
voiding the other pending invites). Services are called directly; events are read from a
real channel in each user's group after the commit callbacks ran."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.errors import NoAccess
from accounts.models import User
from chat import presence
from chat.models import ActiveRoom, CallInvite, Cooldown
from chat.services import (
    accept_invite,
    cancel_invite,
    decline_invite,
    end_room,
    expire_overdue_invites,
    send_invite,
)
from config.errors import ServiceError
from tests.chat_support import go_online
from tests.factories import (
    ActiveRoomFactory,
    CallInviteFactory,
    CooldownFactory,
    ReportFactory,
    UserFactory,
    pair,
)

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------


def invite(caller, callee, *, mode="video", seconds=300) -> CallInvite:
    return send_invite(caller, to=callee.pk, mode=mode, seconds=seconds)


def refusal(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        fn(*args, **kwargs)
    return caught.value


def cooldown_of(a, b) -> Cooldown:
    low, high = pair(a, b)
    return Cooldown.objects.get(user_low=low, user_high=high)


@pytest.fixture
def charlie(db):
    return UserFactory(name="Charlie")


@pytest.fixture
def dave(db):
    return UserFactory(name="Dave")


@pytest.fixture
def everyone_online(alice, bob, charlie, dave, stranger):
    go_online(alice, bob, charlie, dave, stranger)


# --- send_invite ------------------------------------------------------------------------------


def test_send_invite_creates_a_pending_invite_expiring_20_seconds_later_and_tells_the_callee(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    go_online(alice, bob)
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        sent = invite(alice, bob, mode="text", seconds=600)

    row = CallInvite.objects.get()
    assert row.pk == sent.pk
    assert (row.from_user_id, row.to_user_id) == (alice.pk, bob.pk)
    assert (row.chat_mode, row.requested_seconds, row.status) == ("text", 600, CallInvite.Status.PENDING)
    assert row.created_at == datetime.now(UTC)
    assert row.expires_at == row.created_at + timedelta(seconds=20)
    assert row.responded_at is None
    events = box.drain()
    assert events[alice.pk] == []
    [incoming] = events[bob.pk]
    assert incoming["type"] == "call.incoming"
    assert incoming["invite"] == str(row.pk)
    assert (incoming["from"], incoming["to"]) == (str(alice.pk), str(bob.pk))
    assert (incoming["mode"], incoming["seconds"], incoming["status"]) == ("text", 600, "pending")
    assert incoming["caller"]["id"] == str(alice.pk)
    assert incoming["caller"]["name"] == "Alice"


def test_invite_to_an_offline_user_is_refused_not_available(alice, bob):
    go_online(alice)

    error = refusal(invite, alice, bob)

    assert (error.code, error.status) == ("not_available", 409)
    assert not CallInvite.objects.exists()


def test_invite_to_an_online_but_unavailable_user_is_refused_not_available(alice, bob):
    go_online(alice, bob)
    presence.set_available(bob.pk, False)

    error = refusal(invite, alice, bob)

    assert error.code == "not_available"
    assert not CallInvite.objects.exists()


def test_invite_for_a_mode_the_callee_is_not_available_for_is_refused(alice, bob):
    go_online(alice)
    go_online(bob, modes=("text",))

    error = refusal(invite, alice, bob, mode="video")

    assert error.code == "not_available"
    assert not CallInvite.objects.exists()
    assert invite(alice, bob, mode="text").status == CallInvite.Status.PENDING


def test_invite_to_a_user_in_a_live_room_is_refused_busy(alice, bob, stranger):
    go_online(alice, bob)
    ActiveRoomFactory(user_1=stranger, user_2=bob)

    error = refusal(invite, alice, bob)

    assert (error.code, error.status) == ("busy", 409)
    assert not CallInvite.objects.exists()


def test_invite_while_the_caller_is_in_a_live_room_is_refused_already_in_room(alice, bob, stranger):
    go_online(alice, bob)
    ActiveRoomFactory(user_1=alice, user_2=stranger)

    error = refusal(invite, alice, bob)

    assert error.code == "already_in_room"
    assert not CallInvite.objects.exists()


def test_an_ended_room_does_not_make_anyone_busy(alice, bob, stranger):
    go_online(alice, bob)
    ActiveRoomFactory(user_1=stranger, user_2=bob, ended=True)

    assert invite(alice, bob).status == CallInvite.Status.PENDING


def test_invite_on_cooldown_is_refused_in_both_directions_of_the_pair(alice, bob, clock):
    go_online(alice, bob)
    CooldownFactory(user_low=alice, user_high=bob, expires_at=datetime.now(UTC) + timedelta(hours=2))

    assert refusal(invite, alice, bob).code == "on_cooldown"
    assert refusal(invite, bob, alice).code == "on_cooldown"
    assert not CallInvite.objects.exists()

    clock.shift(timedelta(hours=2))  # expires_at is not > now any more
    go_online(alice, bob)
    assert invite(bob, alice).status == CallInvite.Status.PENDING


def test_invite_to_someone_the_caller_reported_is_refused(alice, bob):
    go_online(alice, bob)
    ReportFactory(reporter=alice, reported=bob)

    error = refusal(invite, alice, bob)

    assert error.code == "not_available"
    assert not CallInvite.objects.exists()


@pytest.mark.parametrize("ban_status", [User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT])
def test_invite_to_a_banned_user_is_refused(alice, bob, ban_status):
    go_online(alice, bob)
    User.objects.filter(pk=bob.pk).update(ban_status=ban_status)

    error = refusal(invite, alice, bob)

    assert error.code == "not_available"
    assert not CallInvite.objects.exists()


def test_invite_to_a_user_without_access_is_refused(alice, bob):
    go_online(alice, bob)
    User.objects.filter(pk=bob.pk).update(access_status=User.AccessStatus.UNPAID)

    error = refusal(invite, alice, bob)

    assert error.code == "not_available"
    assert not CallInvite.objects.exists()


def test_inviting_yourself_is_refused_invalid_message(alice):
    go_online(alice)

    error = refusal(invite, alice, alice)

    assert (error.code, error.status) == ("invalid_message", 400)
    assert not CallInvite.objects.exists()


def test_a_caller_without_access_is_refused_403_no_access(alice, bob):
    go_online(alice, bob)
    User.objects.filter(pk=alice.pk).update(access_status=User.AccessStatus.UNPAID)

    error = refusal(invite, alice, bob)

    assert isinstance(error, NoAccess)
    assert (error.code, error.status) == ("no_access", 403)
    assert not CallInvite.objects.exists()


@pytest.mark.parametrize("seconds", [59, 1801, "ten", None])
def test_call_length_outside_60_to_1800_seconds_is_refused(alice, bob, seconds):
    go_online(alice, bob)

    error = refusal(invite, alice, bob, seconds=seconds)

    assert error.code == "invalid_message"
    assert not CallInvite.objects.exists()


def test_unknown_mode_is_refused(alice, bob):
    go_online(alice, bob)

    assert refusal(invite, alice, bob, mode="audio").code == "invalid_message"
    assert not CallInvite.objects.exists()


def test_a_retry_of_a_pending_invite_answers_with_that_invite(alice, bob):
    """The first answer was lost (service_unavailable after the commit, a dropped socket): the
    retry is not refused `invite_pending` for 20 s, it gets the committed invite."""
    go_online(alice, bob)
    first = invite(alice, bob)

    again = invite(alice, bob)

    assert (again.pk, again.expires_at) == (first.pk, first.expires_at)
    assert CallInvite.objects.filter(status="pending").count() == 1


def test_a_second_invite_while_one_is_pending_is_refused_invite_pending(alice, bob, charlie):
    go_online(alice, bob, charlie)
    first = invite(alice, bob)

    error = refusal(invite, alice, charlie)

    assert error.code == "invite_pending"
    assert list(CallInvite.objects.values_list("pk", flat=True)) == [first.pk]


def test_invite_to_someone_already_being_invited_is_refused_busy(alice, bob, charlie):
    go_online(alice, bob, charlie)
    first = invite(alice, bob)

    error = refusal(invite, charlie, bob)

    assert error.code == "busy"
    assert list(CallInvite.objects.values_list("pk", flat=True)) == [first.pk]


def test_invite_to_someone_whose_own_invite_is_out_is_refused_busy(alice, bob, charlie):
    go_online(alice, bob, charlie)
    invite(alice, bob)

    assert refusal(invite, charlie, alice).code == "busy"
    assert CallInvite.objects.count() == 1


# --- expiry -----------------------------------------------------------------------------------


def test_accept_19_seconds_after_the_invite_still_works(alice, bob, clock):
    go_online(alice, bob)
    sent = invite(alice, bob)
    clock.shift(timedelta(seconds=19))

    room = accept_invite(bob, invite_id=sent.pk, seconds=300)

    assert room.status == ActiveRoom.Status.ACTIVE


def test_accept_after_20_seconds_is_refused_410_and_commits_the_expiry_without_a_sweep(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    go_online(alice, bob)
    sent = invite(alice, bob)
    clock.shift(timedelta(seconds=20))
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        error = refusal(accept_invite, bob, invite_id=sent.pk, seconds=300)

    assert (error.code, error.status) == ("invite_expired", 410)
    sent.refresh_from_db()
    assert sent.status == CallInvite.Status.EXPIRED  # the refusal committed it
    assert sent.responded_at == datetime.now(UTC)
    assert not ActiveRoom.objects.exists()
    assert box.types() == {alice.pk: ["call.expired"], bob.pk: ["call.expired"]}
    # And a retry is still refused the same way, now from the stored status.
    assert refusal(accept_invite, bob, invite_id=sent.pk, seconds=300).code == "invite_expired"


def test_expire_invites_marks_stale_pending_invites_expired_and_tells_both(
    alice, bob, charlie, dave, stranger, clock, inbox, django_capture_on_commit_callbacks
):
    go_online(alice, bob, charlie, dave)
    stale = invite(alice, bob)
    clock.shift(timedelta(seconds=15))
    fresh = invite(charlie, dave)
    clock.shift(timedelta(seconds=6))  # stale is 21 s old, fresh 6 s
    box = inbox(alice, bob, charlie, dave, stranger)

    with django_capture_on_commit_callbacks(execute=True):
        count = expire_overdue_invites()

    assert count == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == CallInvite.Status.EXPIRED
    assert stale.responded_at == datetime.now(UTC)
    assert fresh.status == CallInvite.Status.PENDING
    events = box.drain()
    assert [e["type"] for e in events[alice.pk]] == ["call.expired"]
    assert [e["type"] for e in events[bob.pk]] == ["call.expired"]
    assert events[alice.pk][0]["invite"] == str(stale.pk)
    assert events[charlie.pk] == events[dave.pk] == events[stranger.pk] == []
    assert expire_overdue_invites() == 0  # a second sweep has nothing to do


def test_a_stale_pending_invite_does_not_block_the_caller_from_inviting_again(alice, bob, charlie, clock):
    go_online(alice, bob, charlie)
    stale = invite(alice, bob)
    clock.shift(timedelta(seconds=21))

    again = invite(alice, charlie)

    stale.refresh_from_db()
    assert stale.status == CallInvite.Status.EXPIRED
    assert again.status == CallInvite.Status.PENDING


def test_a_stale_pending_invite_does_not_make_the_callee_busy(alice, bob, charlie, clock):
    go_online(alice, bob, charlie)
    stale = invite(alice, bob)
    clock.shift(timedelta(seconds=20))

    again = invite(charlie, bob)

    stale.refresh_from_db()
    assert stale.status == CallInvite.Status.EXPIRED
    assert again.status == CallInvite.Status.PENDING


# --- decline and cancel -----------------------------------------------------------------------


def test_decline_marks_it_declined_sets_a_24h_cooldown_and_tells_the_caller(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    go_online(alice, bob)
    sent = invite(alice, bob)
    clock.shift(timedelta(seconds=5))
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        decline_invite(bob, invite_id=sent.pk)

    sent.refresh_from_db()
    assert sent.status == CallInvite.Status.DECLINED
    assert sent.responded_at == datetime.now(UTC)
    cooldown = cooldown_of(alice, bob)
    assert cooldown.reason == Cooldown.Reason.DECLINED
    assert cooldown.expires_at == datetime.now(UTC) + timedelta(hours=24)
    events = box.drain()
    assert [e["type"] for e in events[alice.pk]] == ["call.declined"]
    assert events[alice.pk][0]["invite"] == str(sent.pk)
    assert refusal(invite, alice, bob).code == "on_cooldown"
    assert refusal(invite, bob, alice).code == "on_cooldown"


def test_declining_twice_is_a_no_op_and_a_stranger_cannot_decline(alice, bob, stranger):
    go_online(alice, bob)
    sent = invite(alice, bob)

    assert refusal(decline_invite, stranger, invite_id=sent.pk).code == "invite_not_found"
    assert refusal(decline_invite, alice, invite_id=sent.pk).code == "invite_not_found"  # the caller cancels
    decline_invite(bob, invite_id=sent.pk)
    again = decline_invite(bob, invite_id=sent.pk)

    assert again.status == CallInvite.Status.DECLINED
    assert Cooldown.objects.count() == 1


def test_cancel_marks_it_cancelled_sets_a_1h_cooldown_and_tells_the_callee(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    go_online(alice, bob)
    sent = invite(alice, bob)
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_invite(alice, invite_id=sent.pk)

    sent.refresh_from_db()
    assert sent.status == CallInvite.Status.CANCELLED
    cooldown = cooldown_of(alice, bob)
    assert cooldown.reason == Cooldown.Reason.CANCELLED
    assert cooldown.expires_at == datetime.now(UTC) + timedelta(hours=1)
    events = box.drain()
    assert [e["type"] for e in events[bob.pk]] == ["call.cancelled"]
    assert events[bob.pk][0]["invite"] == str(sent.pk)
    assert refusal(invite, bob, alice).code == "on_cooldown"

    clock.shift(timedelta(hours=1))
    go_online(alice, bob)
    assert invite(bob, alice).status == CallInvite.Status.PENDING


def test_an_answered_invite_cannot_be_cancelled(alice, bob):
    go_online(alice, bob)
    sent = invite(alice, bob)
    decline_invite(bob, invite_id=sent.pk)

    assert refusal(cancel_invite, alice, invite_id=sent.pk).code == "invite_not_pending"
    assert cooldown_of(alice, bob).reason == Cooldown.Reason.DECLINED


def test_a_shorter_cooldown_never_shortens_a_longer_one(alice, bob, clock):
    t0 = datetime.now(UTC)
    room = ActiveRoomFactory(user_1=alice, user_2=bob, started_at=t0 - timedelta(seconds=120))
    end_room(room.pk, reason="user_ended")
    assert (cooldown_of(alice, bob).reason, cooldown_of(alice, bob).expires_at) == (
        "session_end",
        t0 + timedelta(hours=24),
    )

    # A cancel (1 h) ten minutes later leaves the 24 h cooldown and its reason alone.
    clock.shift(timedelta(minutes=10))
    cancel_invite(alice, invite_id=CallInviteFactory(from_user=alice, to_user=bob).pk)
    cooldown = cooldown_of(alice, bob)
    assert (cooldown.reason, cooldown.expires_at) == ("session_end", t0 + timedelta(hours=24))

    # A decline (24 h) an hour later ends later, so it wins.
    clock.shift(timedelta(minutes=50))
    decline_invite(bob, invite_id=CallInviteFactory(from_user=alice, to_user=bob).pk)
    cooldown = cooldown_of(alice, bob)
    assert (cooldown.reason, cooldown.expires_at) == ("declined", t0 + timedelta(hours=25))
    assert Cooldown.objects.count() == 1


def test_a_decline_keeps_a_later_admin_cooldown(alice, bob, clock):
    later = datetime.now(UTC) + timedelta(days=7)
    CooldownFactory(user_low=alice, user_high=bob, expires_at=later, reason=Cooldown.Reason.ADMIN)

    decline_invite(bob, invite_id=CallInviteFactory(from_user=alice, to_user=bob).pk)

    cooldown = cooldown_of(alice, bob)
    assert (cooldown.reason, cooldown.expires_at) == ("admin", later)


# --- accept -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "answered", "length"),
    [(60, 61, 60), (300, 1800, 1050), (1800, 1800, 1800), (61, 60, 60), (60, 60, 60)],
)
def test_room_length_is_the_floor_of_the_mean_of_both_choices(alice, bob, clock, requested, answered, length):
    go_online(alice, bob)
    sent = invite(alice, bob, mode="text", seconds=requested)

    room = accept_invite(bob, invite_id=sent.pk, seconds=answered)

    room.refresh_from_db()
    assert room.duration_seconds == length
    assert room.started_at == datetime.now(UTC)
    assert room.ends_at == room.started_at + timedelta(seconds=length)
    assert (room.user_1_id, room.user_2_id, room.chat_mode) == (alice.pk, bob.pk, "text")
    assert room.status == ActiveRoom.Status.ACTIVE
    sent.refresh_from_db()
    assert (sent.status, sent.callee_seconds, sent.room_id) == ("accepted", answered, room.pk)


def test_accept_tells_both_room_start_with_their_partner(alice, bob, inbox, django_capture_on_commit_callbacks):
    go_online(alice, bob)
    sent = invite(alice, bob)
    box = inbox(alice, bob)

    with django_capture_on_commit_callbacks(execute=True):
        room = accept_invite(bob, invite_id=sent.pk, seconds=300)

    events = box.drain()
    [to_alice] = events[alice.pk]
    [to_bob] = events[bob.pk]
    assert to_alice["type"] == to_bob["type"] == "room.start"
    assert to_alice["room"] == to_bob["room"] == str(room.pk)
    assert to_alice["ends_at"] == room.ends_at.isoformat()
    assert to_alice["partner"]["id"] == str(bob.pk)
    assert to_bob["partner"]["id"] == str(alice.pk)


def test_retrying_the_same_accept_returns_the_same_room(alice, bob, clock):
    go_online(alice, bob)
    sent = invite(alice, bob)
    first = accept_invite(bob, invite_id=sent.pk, seconds=300)
    clock.shift(timedelta(seconds=30))  # even after the 20 s, the accepted invite answers with its room

    again = accept_invite(bob, invite_id=sent.pk, seconds=300)

    assert again.pk == first.pk
    assert ActiveRoom.objects.count() == 1


def test_only_the_callee_can_accept(alice, bob, stranger):
    go_online(alice, bob)
    sent = invite(alice, bob)

    assert refusal(accept_invite, alice, invite_id=sent.pk, seconds=300).code == "invite_not_found"
    assert refusal(accept_invite, stranger, invite_id=sent.pk, seconds=300).code == "invite_not_found"
    assert refusal(accept_invite, bob, invite_id="not-a-uuid", seconds=300).code == "invite_not_found"
    assert not ActiveRoom.objects.exists()


def test_a_declined_or_cancelled_invite_cannot_be_accepted(alice, bob, charlie):
    go_online(alice, bob, charlie)
    declined = invite(alice, bob)
    decline_invite(bob, invite_id=declined.pk)
    cancelled = invite(charlie, bob)
    cancel_invite(charlie, invite_id=cancelled.pk)

    assert refusal(accept_invite, bob, invite_id=declined.pk, seconds=300).code == "invite_not_pending"
    assert refusal(accept_invite, bob, invite_id=cancelled.pk, seconds=300).code == "invite_not_pending"
    assert not ActiveRoom.objects.exists()


def test_accepting_voids_both_users_other_pending_invites(
    alice, bob, charlie, dave, everyone_online, inbox, django_capture_on_commit_callbacks
):
    into_alice = invite(charlie, alice)  # alice is being invited by charlie...
    accepted = invite(alice, bob)  # ...while she invites bob,
    out_of_bob = invite(bob, dave)  # who meanwhile invites dave.
    box = inbox(alice, bob, charlie, dave)

    with django_capture_on_commit_callbacks(execute=True):
        room = accept_invite(bob, invite_id=accepted.pk, seconds=300)

    for other in (into_alice, out_of_bob):
        other.refresh_from_db()
        assert other.status == CallInvite.Status.CANCELLED
        assert other.responded_at is not None
    assert CallInvite.objects.get(pk=accepted.pk).room_id == room.pk
    assert not CallInvite.objects.filter(status="pending").exists()
    assert not Cooldown.objects.exists()  # voided by the system, not cancelled by a person
    types = box.types()
    assert types[charlie.pk] == ["call.cancelled"]
    assert types[dave.pk] == ["call.cancelled"]
    assert sorted(types[alice.pk]) == ["call.cancelled", "room.start"]
    assert sorted(types[bob.pk]) == ["call.cancelled", "room.start"]


def test_declining_an_invite_past_its_20_seconds_is_the_same_as_after_the_sweep(alice, bob, clock):
    go_online(alice, bob)
    sent = invite(alice, bob)
    clock.shift(timedelta(seconds=25))

    error = refusal(decline_invite, bob, invite_id=sent.pk)

    assert error.code in {"invite_expired", "invite_not_pending"}
    sent.refresh_from_db()
    assert sent.status == CallInvite.Status.EXPIRED
    assert not Cooldown.objects.exists()


def test_cancelling_an_invite_past_its_20_seconds_is_the_same_as_after_the_sweep(alice, bob, clock):
    go_online(alice, bob)
    sent = invite(alice, bob)
    clock.shift(timedelta(seconds=25))

    error = refusal(cancel_invite, alice, invite_id=sent.pk)

    assert error.code in {"invite_expired", "invite_not_pending"}
    sent.refresh_from_db()
    assert sent.status == CallInvite.Status.EXPIRED
    assert not Cooldown.objects.exists()


def test_after_the_sweep_decline_and_cancel_of_an_expired_invite_are_refused(alice, bob, clock):
    go_online(alice, bob)
    sent = invite(alice, bob)
    clock.shift(timedelta(seconds=25))
    expire_overdue_invites()

    assert refusal(decline_invite, bob, invite_id=sent.pk).code == "invite_expired"
    assert refusal(cancel_invite, alice, invite_id=sent.pk).code == "invite_expired"
    assert not Cooldown.objects.exists()
