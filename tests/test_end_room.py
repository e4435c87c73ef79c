"""Ending a room: exactly once, in one transaction, the same bookkeeping for both users (the old system
lost the callee's history), timer totals by F-expression, the 4-session QR unlock, a 24 h
cooldown, and `room.ended` + `me.metrics` after commit. Deleting an account in a live room
ends it properly first."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from accounts.services.profile import delete_account
from chat.models import ActiveRoom, ActiveRoomMember, ChatHistory, Cooldown, SessionCompletion
from chat.services import end_room, end_room_by_member
from config.errors import ServiceError
from referrals.models import InviteCode
from tests.chat_support import now
from tests.factories import ActiveRoomFactory, TextChatMessageFactory, UserFactory, pair

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------


def room_between(user_1, user_2, *, seconds=300, mode="video", **kwargs) -> ActiveRoom:
    """A live room starting now (the clock fixture holds time still)."""
    return ActiveRoomFactory(user_1=user_1, user_2=user_2, chat_mode=mode, duration_seconds=seconds, **kwargs)


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def assert_totals_match_completions(*users) -> None:
    for user in users:
        total = SessionCompletion.objects.filter(user=user).aggregate(total=Sum("duration_seconds"))["total"] or 0
        assert fresh(user).timer_total_seconds == total, user.name


# --- exactly once -----------------------------------------------------------------------------


def test_ending_a_room_twice_does_the_bookkeeping_once_and_sends_nothing_the_second_time(
    alice, bob, clock, django_capture_on_commit_callbacks
):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=100))
    first = end_room(room.pk, reason="user_ended")
    clock.shift(timedelta(seconds=50))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = end_room(room.pk, reason="timer")

    assert first.ended_now is True
    assert second.ended_now is False
    assert callbacks == []
    room.refresh_from_db()
    assert (room.status, room.end_reason) == (ActiveRoom.Status.ENDED, "user_ended")
    assert room.ended_at == now() - timedelta(seconds=50)
    assert SessionCompletion.objects.count() == 2
    assert ChatHistory.objects.count() == 2
    assert Cooldown.objects.count() == 1
    for user in (alice, bob):
        user = fresh(user)
        assert (user.timer_total_seconds, user.session_count, user.successful_sessions) == (100, 1, 1)
    assert not ActiveRoomMember.objects.exists()


def test_ending_from_either_side_works_once_and_strangers_cannot(alice, bob, stranger, clock):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=40))

    with pytest.raises(ServiceError) as caught:
        end_room_by_member(stranger, room_id=room.pk)
    assert (caught.value.code, caught.value.status) == ("not_a_member", 403)
    assert end_room_by_member(bob, room_id=room.pk).ended_now is True
    # The other side (or a retry) gets the committed result: ended, by someone already.
    assert end_room_by_member(alice, room_id=room.pk).ended_now is False
    assert end_room_by_member(bob, room_id=room.pk).ended_now is False

    room.refresh_from_db()
    assert room.end_reason == ActiveRoom.EndReason.USER_ENDED
    assert SessionCompletion.objects.count() == 2


# --- history and completions ------------------------------------------------------------------


def test_both_users_get_a_chat_history_row_with_the_partners_name_and_the_messages(alice, bob, clock):
    room = room_between(alice, bob, mode="text")
    clock.shift(timedelta(seconds=5))
    first = TextChatMessageFactory(room=room, sender=alice, receiver=bob, content="hi bob", sent_at=now())
    clock.shift(timedelta(seconds=5))
    second = TextChatMessageFactory(room=room, sender=bob, receiver=alice, content="hi alice", sent_at=now())
    clock.shift(timedelta(seconds=50))

    end_room(room.pk, reason="user_ended")

    expected = [
        {
            "id": message.pk,
            "sender": str(message.sender_id),
            "kind": "text",
            "text": message.content,
            "url": None,
            "sent_at": message.sent_at.isoformat(),
        }
        for message in (first, second)
    ]
    for user, partner in ((alice, bob), (bob, alice)):  # bob is the callee (user_2): his row too
        history = ChatHistory.objects.get(user=user, room=room)
        assert history.partner_id == partner.pk
        assert history.partner_name == partner.name
        assert history.chat_mode == "text"
        assert history.started_at == room.started_at
        assert history.duration_seconds == 60
        assert history.messages == expected


def test_the_history_keeps_the_name_the_partner_had_when_the_room_ended(alice, bob, clock):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=60))
    end_room(room.pk, reason="timer")

    User.objects.filter(pk=bob.pk).update(name="Robert")

    assert ChatHistory.objects.get(user=alice).partner_name == "Bob"


def test_a_room_ended_early_counts_the_seconds_actually_spent(alice, bob, clock):
    room = room_between(alice, bob, seconds=300)
    clock.shift(timedelta(seconds=100, milliseconds=900))

    end_room(room.pk, reason="user_ended")

    for user, partner in ((alice, bob), (bob, alice)):
        completion = SessionCompletion.objects.get(user=user)
        assert (completion.room_id, completion.partner_id) == (room.pk, partner.pk)
        assert completion.duration_seconds == 100
        assert completion.completed_at == now()
        assert fresh(user).timer_total_seconds == 100


def test_a_room_ended_late_counts_at_most_its_length(alice, bob, clock):
    room = room_between(alice, bob, seconds=300)
    clock.shift(timedelta(seconds=420))  # the worker was down for two minutes

    end_room(room.pk, reason="timer")

    assert set(SessionCompletion.objects.values_list("duration_seconds", flat=True)) == {300}
    assert ChatHistory.objects.get(user=bob).duration_seconds == 300
    assert fresh(alice).timer_total_seconds == fresh(bob).timer_total_seconds == 300


def test_no_completion_is_written_for_less_than_one_second(alice, bob, clock):
    room = room_between(alice, bob)
    clock.shift(timedelta(milliseconds=900))

    result = end_room(room.pk, reason="user_ended")

    assert result.ended_now is True
    assert not SessionCompletion.objects.exists()
    assert ChatHistory.objects.count() == 2  # the call still shows in both histories
    for user in (alice, bob):
        user = fresh(user)
        assert (user.timer_total_seconds, user.session_count, user.successful_sessions) == (0, 0, 0)


def test_timer_total_grows_by_an_f_expression_not_by_overwriting_a_stale_value(alice, bob, clock):
    room = room_between(alice, bob)
    stale_alice = fresh(alice)  # loaded before the change below
    # Another room of Alice's ended meanwhile (its bookkeeping wrote straight to the row).
    User.objects.filter(pk=alice.pk).update(timer_total_seconds=1000, session_count=7, successful_sessions=5)
    clock.shift(timedelta(seconds=90))

    end_room(room.pk, reason="user_ended")

    assert stale_alice.timer_total_seconds == 0
    alice = fresh(alice)
    assert (alice.timer_total_seconds, alice.session_count, alice.successful_sessions) == (1090, 8, 6)
    assert fresh(bob).timer_total_seconds == 90


@pytest.mark.django_db(transaction=True)
def test_timer_total_keeps_a_change_committed_while_the_room_was_ending(alice, bob):
    """Another transaction adds 1000 s to Alice's total and holds her row while end_room runs:
    end_room must wait and add to the committed value (a read-modify-write from an unlocked
    read would lose the 1000 s)."""
    room = ActiveRoomFactory(user_1=alice, user_2=bob, started_at=timezone.now() - timedelta(seconds=90))
    holding, release = threading.Event(), threading.Event()
    outcome = {}

    def other_writer():
        try:
            with transaction.atomic():
                User.objects.filter(pk=alice.pk).update(timer_total_seconds=F("timer_total_seconds") + 1000)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    def ender():
        try:
            outcome["result"] = end_room(room.pk, reason="user_ended")
        finally:
            connection.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert holding.wait(30)
    ending = threading.Thread(target=ender)
    ending.start()
    waiting = False
    for _ in range(500):  # until end_room waits for Alice's row lock
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0] > 0
        if waiting or not ending.is_alive():
            break
        threading.Event().wait(0.01)
    release.set()
    writer.join(30)
    ending.join(30)

    assert waiting  # end_room really did run into the other transaction
    assert outcome["result"].ended_now
    spent = SessionCompletion.objects.get(user=alice).duration_seconds
    assert 90 <= spent <= 100
    assert fresh(alice).timer_total_seconds == 1000 + spent


@pytest.mark.parametrize(("seconds", "successful"), [(29, 0), (30, 1), (31, 1)])
def test_only_calls_of_30_seconds_or_more_are_successful_sessions(alice, bob, clock, seconds, successful):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=seconds))

    end_room(room.pk, reason="user_ended")

    for user in (alice, bob):
        user = fresh(user)
        assert user.session_count == 1
        assert user.successful_sessions == successful


def test_the_4th_successful_session_unlocks_qr_verified_and_an_own_invite_code(alice, clock):
    partners = [UserFactory() for _ in range(4)]
    for index, partner in enumerate(partners):
        room = room_between(alice, partner)
        clock.shift(timedelta(seconds=30))
        end_room(room.pk, reason="user_ended")
        alice = fresh(alice)
        if index < 3:
            assert not alice.qr_unlocked
            assert alice.access_status == User.AccessStatus.QR_GRACE_PERIOD
            assert not InviteCode.objects.filter(created_by=alice).exists()

    assert alice.successful_sessions == 4
    assert alice.qr_unlocked is True
    assert alice.qr_unlocked_at == now()
    assert alice.access_status == User.AccessStatus.QR_VERIFIED
    code = InviteCode.objects.get(created_by=alice)
    assert (code.type, code.max_uses, code.uses_remaining) == (InviteCode.Type.USER, 4, 4)
    # Each partner had one session: nothing unlocked for them.
    assert not User.objects.filter(pk__in=[p.pk for p in partners], qr_unlocked=True).exists()


def test_short_calls_do_not_count_towards_the_unlock(alice, clock):
    for _ in range(4):
        room = room_between(alice, UserFactory())
        clock.shift(timedelta(seconds=29))
        end_room(room.pk, reason="user_ended")

    alice = fresh(alice)
    assert (alice.session_count, alice.successful_sessions, alice.qr_unlocked) == (4, 0, False)
    assert not InviteCode.objects.filter(created_by=alice).exists()


def test_the_unlock_never_downgrades_paid(alice, clock):
    User.objects.filter(pk=alice.pk).update(access_status=User.AccessStatus.PAID)
    for _ in range(4):
        room = room_between(UserFactory(), alice)
        clock.shift(timedelta(seconds=45))
        end_room(room.pk, reason="timer")

    alice = fresh(alice)
    assert alice.qr_unlocked is True
    assert alice.access_status == User.AccessStatus.PAID
    assert InviteCode.objects.filter(created_by=alice, type=InviteCode.Type.USER).count() == 1


def test_ending_gives_the_pair_a_24_hour_session_end_cooldown(alice, bob, clock):
    room = room_between(bob, alice)
    clock.shift(timedelta(seconds=75))

    end_room(room.pk, reason="timer")

    low, high = pair(alice, bob)
    cooldown = Cooldown.objects.get()
    assert (cooldown.user_low_id, cooldown.user_high_id) == (low.pk, high.pk)
    assert cooldown.reason == Cooldown.Reason.SESSION_END
    assert cooldown.expires_at == now() + timedelta(hours=24)


def test_both_get_room_ended_with_the_reason_and_their_metrics(
    alice, bob, stranger, clock, inbox, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=bob.pk).update(timer_total_seconds=500, session_count=2, successful_sessions=2)
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=42))
    box = inbox(alice, bob, stranger)

    with django_capture_on_commit_callbacks(execute=True):
        end_room(room.pk, reason="inactivity")

    events = box.drain()
    assert events[stranger.pk] == []
    for user, metrics in ((alice, (42, 1, 1)), (bob, (542, 3, 3))):
        by_type = {event["type"]: event for event in events[user.pk]}
        assert len(events[user.pk]) == len(by_type) == 2
        ended, me = by_type["room.ended"], by_type["me.metrics"]
        assert ended == {"type": "room.ended", "room": str(room.pk), "reason": "inactivity"}
        assert (me["timer_total_seconds"], me["session_count"], me["successful_sessions"]) == metrics
        assert me["qr_unlocked"] is False
        assert me["access_status"] == User.AccessStatus.QR_GRACE_PERIOD


def test_a_rolled_back_end_sends_nothing_and_leaves_no_records(alice, bob, clock, django_capture_on_commit_callbacks):
    room = room_between(alice, bob)
    clock.shift(timedelta(seconds=60))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        end_room(room.pk, reason="admin")
        raise RuntimeError("the caller's transaction fails")

    assert callbacks == []
    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.ACTIVE
    assert not SessionCompletion.objects.exists()
    assert not ChatHistory.objects.exists()
    assert not Cooldown.objects.exists()
    assert fresh(alice).timer_total_seconds == 0


def test_every_users_timer_total_equals_the_sum_of_their_completions(alice, bob, stranger, clock):
    charlie = UserFactory(name="Charlie")
    plans = [  # (user_1, user_2, room length, seconds until ended, ended how many times)
        (alice, bob, 300, 125, 1),
        (bob, stranger, 60, 400, 2),  # ended late: capped at 60
        (stranger, alice, 1800, 0.4, 1),  # under a second: no completion
        (charlie, alice, 120, 31, 3),
        (bob, charlie, 90, 89, 1),
    ]
    for user_1, user_2, length, spent, times in plans:
        room = room_between(user_1, user_2, seconds=length)
        clock.shift(timedelta(seconds=spent))
        for _ in range(times):
            end_room(room.pk, reason="user_ended")

    assert_totals_match_completions(alice, bob, stranger, charlie)
    assert fresh(alice).timer_total_seconds == 125 + 31
    assert fresh(bob).timer_total_seconds == 125 + 60 + 89
    assert fresh(stranger).timer_total_seconds == 60
    assert fresh(charlie).timer_total_seconds == 31 + 89


# --- account deletion -------------------------------------------------------------------------


def test_deleting_an_account_in_a_live_room_ends_it_first_and_the_partner_keeps_the_records(
    alice, bob, clock, inbox, django_capture_on_commit_callbacks
):
    room = room_between(bob, alice, mode="text")  # alice is the callee (user_2)
    clock.shift(timedelta(seconds=3))
    message = TextChatMessageFactory(room=room, sender=alice, receiver=bob, content="gotta go", sent_at=now())
    clock.shift(timedelta(seconds=57))
    box = inbox(bob)

    with django_capture_on_commit_callbacks(execute=True):
        delete_account(alice, ip="198.51.100.9")

    assert not User.objects.filter(pk=alice.pk).exists()
    history = ChatHistory.objects.get(user=bob)
    assert history.partner_id is None
    assert history.partner_name == "Alice"
    assert history.duration_seconds == 60
    assert [m["text"] for m in history.messages] == ["gotta go"]
    assert history.messages[0]["id"] == message.pk
    completion = SessionCompletion.objects.get(user=bob)
    assert completion.partner_id is None
    assert completion.duration_seconds == 60
    bob = fresh(bob)
    assert (bob.timer_total_seconds, bob.session_count, bob.successful_sessions) == (60, 1, 1)
    assert not ActiveRoomMember.objects.filter(user=bob).exists()
    assert not ActiveRoom.objects.exclude(status=ActiveRoom.Status.ENDED).exists()
    assert_totals_match_completions(bob)
    events = box.drain()[bob.pk]
    assert sorted(event["type"] for event in events) == ["me.metrics", "room.ended"]
    assert next(e for e in events if e["type"] == "room.ended")["reason"] == "account_deleted"


def wait_for_lock_waiters(count: int) -> bool:
    """Until `count` backends of this test database wait for a lock (a condition, not a time)."""
    for _ in range(1000):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return True
        threading.Event().wait(0.01)
    return False


@pytest.mark.django_db(transaction=True)
def test_deleting_an_account_while_the_partner_ends_the_room_does_not_deadlock():
    first, second = UserFactory(name="First"), UserFactory(name="Second")
    partner, leaver = (first, second) if first.pk < second.pk else (second, first)  # partner is locked first
    room = ActiveRoomFactory(user_1=partner, user_2=leaver, started_at=timezone.now() - timedelta(seconds=60))
    gate_closed, open_gate = threading.Event(), threading.Event()
    outcome = {}

    def gatekeeper():
        """Holds the partner's row so both contenders queue for it: the partner first."""
        try:
            with transaction.atomic():
                list(User.objects.select_for_update(no_key=True).filter(pk=partner.pk))
                gate_closed.set()
                open_gate.wait(30)
        finally:
            connection.close()

    def start(name, fn) -> threading.Thread:
        def target():
            try:
                outcome[name] = fn()
            except Exception as exc:  # noqa: BLE001 - the test inspects whatever happened
                outcome[name] = exc
            finally:
                connection.close()

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    gate = threading.Thread(target=gatekeeper)
    gate.start()
    assert gate_closed.wait(30)
    ending = start("end", lambda: end_room_by_member(partner, room_id=room.pk))
    assert wait_for_lock_waiters(1)
    deleting = start("delete", lambda: delete_account(leaver, ip=None))
    assert wait_for_lock_waiters(2)
    open_gate.set()
    for thread in (gate, ending, deleting):
        thread.join(30)

    failures = {
        name: repr(result)
        for name, result in outcome.items()
        if isinstance(result, Exception) and not isinstance(result, ServiceError)
    }
    assert failures == {}
    assert not User.objects.filter(pk=leaver.pk).exists()
    assert ChatHistory.objects.filter(user=partner).count() == 1
    assert_totals_match_completions(partner)
