"""PostgreSQL itself refuses the chat rows the data model forbids (cooldowns, call_invites,
active_rooms and the trigger-kept active_room_members, text_chat_messages,
session_completions, chat_history). Each bad write runs in its own atomic() block so the
test transaction stays usable; updates go through queryset.update(), which skips Python."""

from datetime import timedelta

import pytest
from django.db import DataError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from chat.models import (
    ActiveRoom,
    ActiveRoomMember,
    CallInvite,
    ChatHistory,
    Cooldown,
    SessionCompletion,
    TextChatMessage,
)
from tests.factories import (
    ActiveRoomFactory,
    CallInviteFactory,
    ChatHistoryFactory,
    CooldownFactory,
    SessionCompletionFactory,
    TextChatMessageFactory,
    UserFactory,
    pair,
)

pytestmark = pytest.mark.django_db

ONE_LIVE_ROOM = "active_room_members_pkey"


def end_room(room: ActiveRoom) -> None:
    ActiveRoom.objects.filter(pk=room.pk).update(
        status=ActiveRoom.Status.ENDED, ended_at=timezone.now(), end_reason=ActiveRoom.EndReason.TIMER
    )


def members_of(room: ActiveRoom) -> set:
    return set(ActiveRoomMember.objects.filter(room=room).values_list("user_id", flat=True))


# --- cooldowns ---------------------------------------------------------------------------


def test_cooldown_pair_must_be_ordered_low_high(alice, bob):
    low, high = pair(alice, bob)
    with pytest.raises(IntegrityError, match="chat_cooldowns_pair_ordered"), transaction.atomic():
        Cooldown.objects.create(
            user_low=high, user_high=low, expires_at=timezone.now() + timedelta(hours=1), reason="declined"
        )


def test_cooldown_pair_cannot_be_swapped_by_update(alice, bob):
    cooldown = CooldownFactory(user_low=alice, user_high=bob)
    with pytest.raises(IntegrityError, match="chat_cooldowns_pair_ordered"), transaction.atomic():
        Cooldown.objects.filter(pk=cooldown.pk).update(user_low=F("user_high"), user_high=F("user_low"))


def test_cooldown_cannot_pair_a_user_with_themself(alice):
    with pytest.raises(IntegrityError, match="chat_cooldowns_pair_ordered"), transaction.atomic():
        Cooldown.objects.create(
            user_low=alice, user_high=alice, expires_at=timezone.now() + timedelta(hours=1), reason="declined"
        )


def test_cooldown_pair_is_unique(alice, bob):
    CooldownFactory(user_low=alice, user_high=bob)
    # The factory orders the pair, so (bob, alice) is the same row as (alice, bob).
    with pytest.raises(IntegrityError, match="chat_cooldowns_pair_unique"), transaction.atomic():
        CooldownFactory(user_low=bob, user_high=alice, reason=Cooldown.Reason.DECLINED)
    assert Cooldown.objects.count() == 1


def test_cooldowns_of_different_pairs_coexist(alice, bob, stranger):
    CooldownFactory(user_low=alice, user_high=bob)
    CooldownFactory(user_low=alice, user_high=stranger)
    CooldownFactory(user_low=bob, user_high=stranger)
    assert Cooldown.objects.count() == 3


def test_cooldown_reason_must_be_known(alice, bob):
    with pytest.raises(IntegrityError, match="chat_cooldowns_reason_valid"), transaction.atomic():
        CooldownFactory(user_low=alice, user_high=bob, reason="because")


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(hours=-1)])
def test_cooldown_must_expire_after_creation(alice, bob, lifetime):
    now = timezone.now()
    with pytest.raises(IntegrityError, match="chat_cooldowns_expiry_after_creation"), transaction.atomic():
        CooldownFactory(user_low=alice, user_high=bob, created_at=now, expires_at=now + lifetime)


# --- call_invites ------------------------------------------------------------------------


def test_call_invite_cannot_be_sent_to_self(alice):
    with pytest.raises(IntegrityError, match="chat_call_invites_not_self"), transaction.atomic():
        CallInviteFactory(from_user=alice, to_user=alice)


@pytest.mark.parametrize("seconds", [0, 59, 1801, 3600])
def test_call_invite_requested_seconds_must_be_60_to_1800(alice, bob, seconds):
    with pytest.raises(IntegrityError, match="chat_call_invites_seconds_range"), transaction.atomic():
        CallInviteFactory(from_user=alice, to_user=bob, requested_seconds=seconds)


@pytest.mark.parametrize("seconds", [60, 1800])
def test_call_invite_requested_seconds_accepts_the_bounds(alice, bob, seconds):
    invite = CallInviteFactory(from_user=alice, to_user=bob, requested_seconds=seconds)
    invite.refresh_from_db()
    assert invite.requested_seconds == seconds


@pytest.mark.parametrize("seconds", [0, 59, 1801])
def test_call_invite_callee_seconds_must_be_60_to_1800(alice, bob, seconds):
    invite = CallInviteFactory(from_user=alice, to_user=bob)
    with pytest.raises(IntegrityError, match="chat_call_invites_callee_seconds_range"), transaction.atomic():
        CallInvite.objects.filter(pk=invite.pk).update(
            status=CallInvite.Status.ACCEPTED, responded_at=timezone.now(), callee_seconds=seconds
        )


@pytest.mark.parametrize("seconds", [None, 60, 1800])
def test_call_invite_callee_seconds_may_be_null_or_in_range(alice, bob, seconds):
    invite = CallInviteFactory(from_user=alice, to_user=bob)
    updated = CallInvite.objects.filter(pk=invite.pk).update(
        status=CallInvite.Status.ACCEPTED, responded_at=timezone.now(), callee_seconds=seconds
    )
    assert updated == 1


def test_caller_has_at_most_one_pending_invite(alice, bob, stranger):
    CallInviteFactory(from_user=alice, to_user=bob)
    with pytest.raises(IntegrityError, match="chat_call_invites_one_pending_per_caller"), transaction.atomic():
        CallInviteFactory(from_user=alice, to_user=stranger)
    assert CallInvite.objects.filter(from_user=alice).count() == 1


def test_callee_has_at_most_one_pending_invite(alice, bob, stranger):
    CallInviteFactory(from_user=alice, to_user=bob)
    with pytest.raises(IntegrityError, match="chat_call_invites_one_pending_per_callee"), transaction.atomic():
        CallInviteFactory(from_user=stranger, to_user=bob)
    assert CallInvite.objects.filter(to_user=bob).count() == 1


def test_caller_may_invite_again_once_the_old_invite_is_no_longer_pending(alice, bob, stranger):
    first = CallInviteFactory(from_user=alice, to_user=bob)
    CallInvite.objects.filter(pk=first.pk).update(status=CallInvite.Status.DECLINED, responded_at=timezone.now())
    second = CallInviteFactory(from_user=alice, to_user=stranger)
    third = CallInviteFactory(from_user=stranger, to_user=bob)
    assert set(CallInvite.objects.filter(status="pending").values_list("pk", flat=True)) == {second.pk, third.pk}


def test_finished_invite_cannot_be_reopened_beside_a_pending_one(alice, bob, stranger):
    old = CallInviteFactory(from_user=alice, to_user=bob, status=CallInvite.Status.EXPIRED)
    CallInviteFactory(from_user=alice, to_user=stranger)
    with pytest.raises(IntegrityError, match="chat_call_invites_one_pending_per_caller"), transaction.atomic():
        CallInvite.objects.filter(pk=old.pk).update(status=CallInvite.Status.PENDING)


def test_pending_invite_has_no_responded_at(alice, bob):
    with pytest.raises(IntegrityError, match="chat_call_invites_pending_unanswered"), transaction.atomic():
        CallInviteFactory(from_user=alice, to_user=bob, responded_at=timezone.now())


def test_call_invite_status_must_be_known(alice, bob):
    invite = CallInviteFactory(from_user=alice, to_user=bob)
    with pytest.raises(IntegrityError, match="chat_call_invites_status_valid"), transaction.atomic():
        CallInvite.objects.filter(pk=invite.pk).update(status="rejected")


def test_call_invite_mode_must_be_known(alice, bob):
    with pytest.raises(IntegrityError, match="chat_call_invites_mode_valid"), transaction.atomic():
        CallInviteFactory(from_user=alice, to_user=bob, chat_mode="audio")


def test_call_invite_must_expire_after_creation(alice, bob):
    now = timezone.now()
    with pytest.raises(IntegrityError, match="chat_call_invites_expiry_after_creation"), transaction.atomic():
        CallInviteFactory(from_user=alice, to_user=bob, created_at=now, expires_at=now)


# --- active_rooms ------------------------------------------------------------------------


def test_room_needs_two_different_people(alice):
    with pytest.raises(IntegrityError, match="chat_active_rooms_two_people"), transaction.atomic():
        ActiveRoomFactory(user_1=alice, user_2=alice)
    assert not ActiveRoomMember.objects.filter(user=alice).exists()


@pytest.mark.parametrize("seconds", [0, 59, 1801])
def test_room_duration_must_be_60_to_1800(alice, bob, seconds):
    with pytest.raises(IntegrityError, match="chat_active_rooms_duration_range"), transaction.atomic():
        ActiveRoomFactory(user_1=alice, user_2=bob, duration_seconds=seconds)


def test_room_must_end_after_it_starts(alice, bob):
    now = timezone.now()
    with pytest.raises(IntegrityError, match="chat_active_rooms_ends_after_start"), transaction.atomic():
        ActiveRoomFactory(user_1=alice, user_2=bob, started_at=now, ends_at=now)


@pytest.mark.parametrize(
    ("status", "has_ended_at", "end_reason"),
    [
        ("ended", False, "timer"),  # ended without ended_at
        ("ended", True, ""),  # ended without a reason
        ("active", True, ""),  # live with ended_at
        ("active", False, "timer"),  # live with a reason
        ("grace_period", True, "disconnect"),  # live with both
    ],
)
def test_room_is_ended_iff_it_has_ended_at_and_end_reason(alice, bob, status, has_ended_at, end_reason):
    with pytest.raises(IntegrityError, match="chat_active_rooms_ended_iff_ended_at"), transaction.atomic():
        ActiveRoomFactory(
            user_1=alice,
            user_2=bob,
            status=status,
            grace_period_expires=timezone.now(),
            ended_at=timezone.now() if has_ended_at else None,
            end_reason=end_reason,
        )


def test_room_cannot_be_marked_ended_without_ended_at_by_update(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    with pytest.raises(IntegrityError, match="chat_active_rooms_ended_iff_ended_at"), transaction.atomic():
        ActiveRoom.objects.filter(pk=room.pk).update(status=ActiveRoom.Status.ENDED)
    assert members_of(room) == {alice.pk, bob.pk}


def test_room_in_grace_period_needs_grace_period_expires(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    with pytest.raises(IntegrityError, match="chat_active_rooms_grace_has_expiry"), transaction.atomic():
        ActiveRoom.objects.filter(pk=room.pk).update(status=ActiveRoom.Status.GRACE_PERIOD)
    updated = ActiveRoom.objects.filter(pk=room.pk).update(
        status=ActiveRoom.Status.GRACE_PERIOD, grace_period_expires=timezone.now() + ActiveRoom.GRACE
    )
    assert updated == 1


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"status": "paused"}, "chat_active_rooms_status_valid"),
        ({"chat_mode": "audio"}, "chat_active_rooms_mode_valid"),
        (
            {"status": "ended", "ended_at": timezone.now(), "end_reason": "bored"},
            "chat_active_rooms_end_reason_valid",
        ),
    ],
)
def test_room_choice_fields_refuse_unknown_values(alice, bob, fields, constraint):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ActiveRoom.objects.filter(pk=room.pk).update(**fields)


# --- one live room per user (active_room_members, kept by a trigger) ----------------------


def test_live_room_insert_adds_a_member_row_for_each_user(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    assert members_of(room) == {alice.pk, bob.pk}


def test_ending_a_room_deletes_its_member_rows(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    assert members_of(room) == {alice.pk, bob.pk}
    end_room(room)
    assert members_of(room) == set()
    assert not ActiveRoomMember.objects.filter(user__in=[alice, bob]).exists()


def test_grace_period_keeps_the_member_rows(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    ActiveRoom.objects.filter(pk=room.pk).update(
        status=ActiveRoom.Status.GRACE_PERIOD, grace_period_expires=timezone.now() + ActiveRoom.GRACE
    )
    assert members_of(room) == {alice.pk, bob.pk}


def test_room_inserted_already_ended_has_no_member_rows(alice, bob, stranger):
    ended = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    live = ActiveRoomFactory(user_1=stranger, user_2=alice)
    assert members_of(ended) == set()
    assert members_of(live) == {stranger.pk, alice.pk}


def test_user_cannot_be_in_two_live_rooms_as_user_1_twice(alice, bob, stranger):
    first = ActiveRoomFactory(user_1=alice, user_2=bob)
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoomFactory(user_1=alice, user_2=stranger)
    assert ActiveRoom.objects.filter(user_1=alice).count() == 1
    assert ActiveRoomMember.objects.get(user=alice).room_id == first.pk
    assert not ActiveRoomMember.objects.filter(user=stranger).exists()


def test_user_cannot_be_in_two_live_rooms_as_user_2_twice(alice, bob, stranger):
    first = ActiveRoomFactory(user_1=bob, user_2=alice)
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoomFactory(user_1=stranger, user_2=alice)
    assert ActiveRoom.objects.filter(user_2=alice).count() == 1
    assert ActiveRoomMember.objects.get(user=alice).room_id == first.pk


def test_user_cannot_be_in_two_live_rooms_as_user_1_and_user_2(alice, bob, stranger):
    first = ActiveRoomFactory(user_1=alice, user_2=bob)
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoomFactory(user_1=stranger, user_2=alice)
    assert ActiveRoom.objects.count() == 1
    assert ActiveRoomMember.objects.get(user=alice).room_id == first.pk


def test_user_cannot_be_in_two_live_rooms_as_user_2_and_user_1(alice, bob, stranger):
    ActiveRoomFactory(user_1=bob, user_2=alice)
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoomFactory(user_1=alice, user_2=stranger)
    assert ActiveRoom.objects.count() == 1


def test_user_in_a_grace_period_room_cannot_join_another(alice, bob, stranger):
    ActiveRoomFactory(
        user_1=alice, user_2=bob, status="grace_period", grace_period_expires=timezone.now() + ActiveRoom.GRACE
    )
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoomFactory(user_1=stranger, user_2=alice)


def test_user_cannot_be_in_two_live_rooms_by_reopening_an_ended_room(alice, bob, stranger):
    ActiveRoomFactory(user_1=alice, user_2=bob)
    old = ActiveRoomFactory(user_1=stranger, user_2=alice, ended=True)
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoom.objects.filter(pk=old.pk).update(status=ActiveRoom.Status.ACTIVE, ended_at=None, end_reason="")
    old.refresh_from_db()
    assert old.status == ActiveRoom.Status.ENDED
    assert members_of(old) == set()


def test_user_cannot_be_moved_by_update_into_a_second_live_room(alice, bob, stranger):
    ActiveRoomFactory(user_1=alice, user_2=bob)
    other = ActiveRoomFactory(user_1=stranger)
    with pytest.raises(IntegrityError, match=ONE_LIVE_ROOM), transaction.atomic():
        ActiveRoom.objects.filter(pk=other.pk).update(user_2=alice)


def test_user_can_join_a_new_room_once_their_previous_room_is_ended(alice, bob, stranger):
    first = ActiveRoomFactory(user_1=alice, user_2=bob)
    end_room(first)
    second = ActiveRoomFactory(user_1=stranger, user_2=alice)
    third = ActiveRoomFactory(user_1=bob, user_2=UserFactory())
    assert ActiveRoomMember.objects.get(user=alice).room_id == second.pk
    assert ActiveRoomMember.objects.get(user=bob).room_id == third.pk


def test_user_may_have_many_ended_rooms_beside_one_live_room(alice, bob, stranger):
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    ActiveRoomFactory(user_1=bob, user_2=alice, ended=True)
    live = ActiveRoomFactory(user_1=alice, user_2=stranger)
    ActiveRoomFactory(user_1=stranger, user_2=alice, ended=True)
    assert ActiveRoom.objects.filter(status="ended").count() == 3
    assert ActiveRoomMember.objects.get(user=alice).room_id == live.pk


# --- text_chat_messages ------------------------------------------------------------------


def test_message_content_longer_than_500_chars_is_refused():
    room = ActiveRoomFactory()
    with pytest.raises(DataError, match="too long"), transaction.atomic():
        TextChatMessageFactory(room=room, content="x" * 501)
    assert not TextChatMessage.objects.filter(room=room).exists()


def test_message_content_of_500_chars_is_accepted():
    message = TextChatMessageFactory(content="x" * 500)
    message.refresh_from_db()
    assert len(message.content) == 500


def test_message_client_id_is_unique_per_room_and_sender():
    message = TextChatMessageFactory(client_id="abc")
    with pytest.raises(IntegrityError, match="chat_text_chat_messages_client_id_unique"), transaction.atomic():
        TextChatMessageFactory(room=message.room, sender=message.sender, client_id="abc", content="resend")
    assert TextChatMessage.objects.filter(room=message.room).count() == 1


def test_same_client_id_from_different_senders_in_one_room_is_allowed():
    message = TextChatMessageFactory(client_id="abc")
    room = message.room
    TextChatMessageFactory(room=room, sender=room.user_2, receiver=room.user_1, client_id="abc")
    assert TextChatMessage.objects.filter(room=room, client_id="abc").count() == 2


def test_same_client_id_from_one_sender_in_different_rooms_is_allowed(alice, bob, stranger):
    first = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    second = ActiveRoomFactory(user_1=alice, user_2=stranger)
    TextChatMessageFactory(room=first, client_id="abc")
    TextChatMessageFactory(room=second, client_id="abc")
    assert TextChatMessage.objects.filter(sender=alice, client_id="abc").count() == 2


def test_messages_without_client_id_do_not_collide():
    message = TextChatMessageFactory(client_id=None)
    TextChatMessageFactory(room=message.room, client_id=None)
    assert TextChatMessage.objects.filter(room=message.room, client_id__isnull=True).count() == 2


@pytest.mark.parametrize("content", ["", "   ", "\n\t"])
def test_text_message_needs_non_blank_content(content):
    with pytest.raises(IntegrityError, match="chat_text_chat_messages_text_not_blank"), transaction.atomic():
        TextChatMessageFactory(type=TextChatMessage.Type.TEXT, content=content)


@pytest.mark.parametrize("message_type", ["gif", "image", "file"])
def test_media_message_needs_a_url(message_type):
    with pytest.raises(IntegrityError, match="chat_text_chat_messages_media_has_url"), transaction.atomic():
        TextChatMessageFactory(type=message_type, content="", url="")


def test_gif_message_with_url_and_no_content_is_accepted():
    message = TextChatMessageFactory(type="gif", content="", url="https://media.giphy.com/media/abc/giphy.gif")
    message.refresh_from_db()
    assert message.url.endswith("giphy.gif")


def test_non_system_message_needs_a_sender():
    with pytest.raises(IntegrityError, match="chat_text_chat_messages_user_has_sender"), transaction.atomic():
        TextChatMessageFactory(type=TextChatMessage.Type.TEXT, sender=None)


def test_system_message_needs_no_sender():
    message = TextChatMessageFactory(type=TextChatMessage.Type.SYSTEM, sender=None, receiver=None, content="1 min")
    message.refresh_from_db()
    assert message.sender_id is None


def test_message_type_must_be_known():
    with pytest.raises(IntegrityError, match="chat_text_chat_messages_type_valid"), transaction.atomic():
        TextChatMessageFactory(type="sticker")


# --- session_completions -----------------------------------------------------------------


def test_session_completion_duration_must_be_positive():
    with pytest.raises(IntegrityError, match="chat_session_completions_duration_positive"), transaction.atomic():
        SessionCompletionFactory(duration_seconds=0)


def test_session_completion_is_unique_per_user_and_room():
    completion = SessionCompletionFactory()
    with pytest.raises(IntegrityError, match="chat_session_completions_once_per_room"), transaction.atomic():
        SessionCompletionFactory(room=completion.room, user=completion.user, partner=completion.partner)
    assert SessionCompletion.objects.filter(room=completion.room).count() == 1


def test_both_users_of_a_room_get_a_session_completion():
    completion = SessionCompletionFactory()
    room = completion.room
    SessionCompletionFactory(room=room, user=room.user_2, partner=room.user_1)
    assert SessionCompletion.objects.filter(room=room).count() == 2


# --- chat_history ------------------------------------------------------------------------


def test_chat_history_is_unique_per_user_and_room():
    entry = ChatHistoryFactory()
    with pytest.raises(IntegrityError, match="chat_chat_history_once_per_room"), transaction.atomic():
        ChatHistoryFactory(room=entry.room, user=entry.user, partner=entry.partner)
    assert ChatHistory.objects.filter(room=entry.room).count() == 1


def test_both_users_of_a_room_get_a_chat_history_entry():
    entry = ChatHistoryFactory()
    room = entry.room
    ChatHistoryFactory(room=room, user=room.user_2, partner=room.user_1)
    assert ChatHistory.objects.filter(room=room).count() == 2


@pytest.mark.parametrize("messages", [{"from": "me", "text": "hi"}, "hi", 0])
def test_chat_history_messages_must_be_a_json_array(messages):
    with pytest.raises(IntegrityError, match="chat_chat_history_messages_array"), transaction.atomic():
        ChatHistoryFactory(messages=messages)


def test_chat_history_mode_must_be_known():
    with pytest.raises(IntegrityError, match="chat_chat_history_mode_valid"), transaction.atomic():
        ChatHistoryFactory(chat_mode="audio")
