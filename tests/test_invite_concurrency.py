"""Invites and rooms under real concurrency: exactly one accept wins, a room ends exactly once,
nobody is in two live rooms. Real threads, each with its own PostgreSQL connection,
released together by a barrier; every round uses fresh users so races repeat."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import User
from chat import presence
from chat.models import ActiveRoom, ActiveRoomMember, CallInvite, ChatHistory, Cooldown, SessionCompletion
from chat.services import accept_invite, end_room, end_room_by_member, send_invite
from config.errors import ServiceError
from tests.concurrency import run_in_parallel
from tests.factories import ActiveRoomFactory, TextChatMessageFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def online_users(count: int) -> list[User]:
    users = [UserFactory() for _ in range(count)]
    for user in users:
        presence.touch(user.pk, f"test-channel-{user.pk}")
        presence.set_available(user.pk, True)
    return users


def live_rooms_of(user: User):
    return ActiveRoom.objects.filter(Q(user_1=user) | Q(user_2=user)).exclude(status=ActiveRoom.Status.ENDED)


def assert_only_service_errors(results, allowed_codes: set) -> None:
    for result in results:
        if isinstance(result, Exception):
            assert isinstance(result, ServiceError), repr(result)
            assert result.code in allowed_codes, result.code


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_accepts_of_one_invite_make_exactly_one_room(round_):
    caller, callee = online_users(2)
    invite = send_invite(caller, to=callee.pk, mode="video", seconds=300)

    results = run_in_parallel(2, lambda index: accept_invite(callee, invite_id=invite.pk, seconds=300 + index))

    assert ActiveRoom.objects.count() == 1
    room = ActiveRoom.objects.get()
    rooms = [result for result in results if isinstance(result, ActiveRoom)]
    assert rooms, results
    assert {r.pk for r in rooms} == {room.pk}  # the loser got the same room (a retry) or a refusal
    assert_only_service_errors(results, {"invite_not_pending"})
    invite.refresh_from_db()
    assert (invite.status, invite.room_id) == (CallInvite.Status.ACCEPTED, room.pk)
    assert set(ActiveRoomMember.objects.values_list("user_id", flat=True)) == {caller.pk, callee.pk}


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_users_inviting_each_other_at_once_get_one_invite_and_one_busy(round_):
    alice, bob = online_users(2)
    pairs = [(alice, bob), (bob, alice)]

    results = run_in_parallel(
        2, lambda index: send_invite(pairs[index][0], to=pairs[index][1].pk, mode="text", seconds=120)
    )

    invites = [result for result in results if isinstance(result, CallInvite)]
    errors = [result for result in results if not isinstance(result, CallInvite)]
    assert len(invites) == 1, results
    assert len(errors) == 1
    assert isinstance(errors[0], ServiceError), repr(errors[0])
    assert errors[0].code == "busy"
    assert list(CallInvite.objects.filter(status="pending").values_list("pk", flat=True)) == [invites[0].pk]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_accepting_an_invite_while_my_own_invite_is_accepted_leaves_me_in_one_room(round_):
    """Alice is invited by Bob and has her own invite out to Charlie. Alice accepts Bob's at the
    moment Charlie accepts hers: she must end up in exactly one live room."""
    alice, bob, charlie = online_users(3)
    from_bob = send_invite(bob, to=alice.pk, mode="video", seconds=300)
    to_charlie = send_invite(alice, to=charlie.pk, mode="video", seconds=300)
    accepts = [(alice, from_bob), (charlie, to_charlie)]

    results = run_in_parallel(
        2, lambda index: accept_invite(accepts[index][0], invite_id=accepts[index][1].pk, seconds=300)
    )

    rooms = [result for result in results if isinstance(result, ActiveRoom)]
    assert len(rooms) == 1, results
    assert_only_service_errors(results, {"invite_not_pending", "already_in_room"})
    assert live_rooms_of(alice).count() == 1
    assert ActiveRoom.objects.count() == 1
    assert ActiveRoomMember.objects.filter(user=alice).count() == 1
    assert CallInvite.objects.filter(status="accepted").count() == 1
    assert not CallInvite.objects.filter(status="pending").exists()


@pytest.mark.parametrize("round_", range(3))
def test_ten_threads_ending_one_room_do_the_bookkeeping_exactly_once(round_):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    room = ActiveRoomFactory(
        user_1=alice, user_2=bob, chat_mode="video", started_at=timezone.now() - timedelta(seconds=100)
    )
    TextChatMessageFactory(room=room, content="hi")

    def work(index: int):
        if index % 3 == 0:
            return end_room_by_member(alice if index % 2 else bob, room_id=room.pk)
        return end_room(room.pk, reason="user_ended")

    results = run_in_parallel(10, work)

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, ServiceError) and e.code == "room_ended" for e in errors), errors
    ended_now = [r for r in results if not isinstance(r, Exception) and r.ended_now]
    assert len(ended_now) == 1, results
    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.ENDED
    for user, partner in ((alice, bob), (bob, alice)):
        completion = SessionCompletion.objects.get(user=user, room=room)
        assert completion.partner_id == partner.pk
        assert ChatHistory.objects.filter(user=user, room=room).count() == 1
        user.refresh_from_db()
        assert user.timer_total_seconds == completion.duration_seconds
        assert 100 <= completion.duration_seconds <= 110
        assert (user.session_count, user.successful_sessions) == (1, 1)
    assert Cooldown.objects.count() == 1
    totals = SessionCompletion.objects.aggregate(total=Sum("duration_seconds"))["total"]
    assert totals == sum(User.objects.filter(pk__in=[alice.pk, bob.pk]).values_list("timer_total_seconds", flat=True))
    assert Counter(ChatHistory.objects.values_list("user_id", flat=True)) == {alice.pk: 1, bob.pk: 1}


@pytest.mark.parametrize("round_", range(3))
def test_five_callers_inviting_one_callee_at_once_make_exactly_one_invite(round_):
    callee, *callers = online_users(6)

    results = run_in_parallel(5, lambda index: send_invite(callers[index], to=callee.pk, mode="video", seconds=60))

    invites = [result for result in results if isinstance(result, CallInvite)]
    assert len(invites) == 1, results
    assert_only_service_errors([r for r in results if not isinstance(r, CallInvite)], {"busy"})
    assert CallInvite.objects.filter(to_user=callee, status="pending").count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_one_caller_inviting_five_people_at_once_makes_exactly_one_invite(round_):
    caller, *callees = online_users(6)

    results = run_in_parallel(5, lambda index: send_invite(caller, to=callees[index].pk, mode="text", seconds=60))

    invites = [result for result in results if isinstance(result, CallInvite)]
    assert len(invites) == 1, results
    assert_only_service_errors([r for r in results if not isinstance(r, CallInvite)], {"invite_pending"})
    assert CallInvite.objects.filter(from_user=caller, status="pending").count() == 1
