"""Blocks (issue 19): POST/DELETE/GET /api/blocks. A block hides both people from each other's
reel and presence, refuses invites either way with the very answer of "not available", ends a
pending invite and a live call between them, is idempotent, limited, audited, constrained in
the database, and unblocking lifts it."""

import pytest
from django.db import IntegrityError, transaction

from chat import reel
from chat.models import ActiveRoom, Block, CallInvite
from chat.services import accept_invite, send_invite
from chat.services.blocks import block_user, unblock_user
from config.errors import ServiceError
from moderation.models import AuditLog
from tests.chat_support import Inbox, go_online, signed_in
from tests.factories import ActiveRoomFactory, UserFactory

pytestmark = pytest.mark.django_db

BLOCKS = "/api/blocks"


def reel_ids(user) -> set[str]:
    response = signed_in(user).get("/api/reel")
    assert response.status_code == 200, response.content
    return {card["id"] for card in response.json()["results"]}


# --- the API ------------------------------------------------------------------------------------


def test_block_is_201_then_a_retry_is_200_with_the_same_row(alice, bob):
    client = signed_in(alice)
    first = client.post(BLOCKS, {"user_id": str(bob.pk)}, format="json")
    again = client.post(BLOCKS, {"user_id": str(bob.pk)}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["user"]["id"] == str(bob.pk)
    assert Block.objects.filter(blocker=alice, blocked=bob).count() == 1


def test_my_blocks_list_is_paginated_newest_first_with_each_persons_id_and_name(alice, bob, stranger):
    block_user(alice, bob.pk)
    block_user(alice, stranger.pk)
    block_user(bob, alice.pk)  # someone else's block of me is not in my list

    page = signed_in(alice).get(BLOCKS, {"page_size": 1}).json()
    rest = signed_in(alice).get(page["next"]).json()

    names = [card["user"]["name"] for card in page["results"] + rest["results"]]
    assert names == ["Stranger", "Bob"]
    assert set(page["results"][0]["user"]) == {"id", "name"}  # the name of the time, no photo or video
    assert rest["next"] is None


def test_unblock_is_204_and_idempotent(alice, bob):
    block_user(alice, bob.pk)
    client = signed_in(alice)

    assert client.delete(f"{BLOCKS}/{bob.pk}").status_code == 204
    assert client.delete(f"{BLOCKS}/{bob.pk}").status_code == 204
    assert not Block.objects.exists()


def test_unblocking_someone_elses_block_of_me_changes_nothing(alice, bob):
    block_user(bob, alice.pk)

    assert signed_in(alice).delete(f"{BLOCKS}/{bob.pk}").status_code == 204

    assert Block.objects.filter(blocker=bob, blocked=alice).exists()


def test_blocking_myself_is_400_and_an_unknown_user_404(alice):
    client = signed_in(alice)
    mine = client.post(BLOCKS, {"user_id": str(alice.pk)}, format="json")
    unknown = client.post(BLOCKS, {"user_id": "00000000-0000-4000-8000-000000000000"}, format="json")
    not_an_id = client.post(BLOCKS, {"user_id": "nope"}, format="json")

    assert (mine.status_code, mine.json()["error"]["code"]) == (400, "invalid")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert not_an_id.status_code == 400


def test_blocks_per_user_are_limited(alice, monkeypatch):
    monkeypatch.setattr(Block, "MAX_PER_USER", 2)
    others = [UserFactory() for _ in range(3)]
    client = signed_in(alice)
    for other in others[:2]:
        assert client.post(BLOCKS, {"user_id": str(other.pk)}, format="json").status_code == 201

    refused = client.post(BLOCKS, {"user_id": str(others[2].pk)}, format="json")
    retry = client.post(BLOCKS, {"user_id": str(others[0].pk)}, format="json")

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "too_many_blocks")
    assert retry.status_code == 200  # a retry of an existing block is not a new one


def test_block_and_unblock_each_write_one_audit_line(alice, bob):
    client = signed_in(alice)
    client.post(BLOCKS, {"user_id": str(bob.pk)}, format="json")
    client.post(BLOCKS, {"user_id": str(bob.pk)}, format="json")  # a retry: no second line
    client.delete(f"{BLOCKS}/{bob.pk}")
    client.delete(f"{BLOCKS}/{bob.pk}")

    lines = list(AuditLog.objects.filter(actor=alice).order_by("pk").values_list("event_type", "target_id", "ip"))
    assert lines == [("user.blocked", bob.pk, "127.0.0.1"), ("user.unblocked", bob.pk, "127.0.0.1")]


# --- the database is the last word ------------------------------------------------------------


def test_database_refuses_a_self_block(alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(blocker=alice, blocked=alice)


def test_database_refuses_a_second_row_for_the_same_pair(alice, bob):
    Block.objects.create(blocker=alice, blocked=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(blocker=alice, blocked=bob)
    Block.objects.create(blocker=bob, blocked=alice)  # the other direction is its own block


# --- hidden both ways -------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["i_blocked", "they_blocked"])
def test_a_block_hides_both_from_each_others_reel(alice, bob, stranger, direction):
    go_online(alice, bob, stranger)
    blocker, blocked = (alice, bob) if direction == "i_blocked" else (bob, alice)
    block_user(blocker, blocked.pk)

    assert reel_ids(alice) == {str(stranger.pk)}
    assert reel_ids(bob) == {str(stranger.pk)}
    assert reel_ids(stranger) == {str(alice.pk), str(bob.pk)}


def test_unblock_puts_them_back_in_each_others_reel(alice, bob):
    go_online(alice, bob)
    block_user(alice, bob.pk)
    unblock_user(alice, bob.pk)

    assert reel_ids(alice) == {str(bob.pk)}
    assert reel_ids(bob) == {str(alice.pk)}


def test_a_block_hides_presence_both_ways(alice, bob, stranger):
    block_user(alice, bob.pk)

    audience = reel.presence_audience({alice.pk, bob.pk}, {alice.pk, bob.pk, stranger.pk})

    assert audience[str(stranger.pk)] == {str(alice.pk), str(bob.pk)}
    assert str(alice.pk) not in audience  # may see only bob, who is hidden from her
    assert str(bob.pk) not in audience


# --- invites ------------------------------------------------------------------------------------


def refusal(caller, callee) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        send_invite(caller, to=callee.pk, mode="video", seconds=300)
    return caught.value


@pytest.mark.parametrize("direction", ["blocker_invites", "blocked_invites"])
def test_invites_either_way_are_refused_exactly_as_not_available(alice, bob, stranger, direction):
    go_online(alice, bob)  # stranger is offline: the plain "not available"
    block_user(alice, bob.pk)
    caller, callee = (alice, bob) if direction == "blocker_invites" else (bob, alice)

    blocked = refusal(caller, callee)
    offline = refusal(caller, stranger)

    assert (blocked.status, blocked.as_dict()) == (offline.status, offline.as_dict())
    assert blocked.as_dict()["code"] == "not_available"
    assert not CallInvite.objects.exists()


def test_after_unblock_invites_work_again(alice, bob):
    go_online(alice, bob)
    block_user(alice, bob.pk)
    unblock_user(alice, bob.pk)

    assert send_invite(bob, to=alice.pk, mode="video", seconds=300).status == CallInvite.Status.PENDING


def test_a_block_ends_the_pending_invite_and_both_are_told_as_for_a_cancel(
    alice, bob, django_capture_on_commit_callbacks
):
    go_online(alice, bob)
    invite = send_invite(bob, to=alice.pk, mode="video", seconds=300)
    inbox = Inbox(alice, bob)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            block_user(alice, bob.pk)
        events = inbox.drain()
    finally:
        inbox.close()

    invite.refresh_from_db()
    assert invite.status == CallInvite.Status.CANCELLED
    for user in (alice, bob):
        cancelled = [e for e in events[user.pk] if e["type"] == "call.cancelled"]
        assert [e["invite"] for e in cancelled] == [str(invite.pk)]
        assert "block" not in str(events[user.pk])
    with pytest.raises(ServiceError) as caught:
        accept_invite(alice, invite_id=invite.pk, seconds=300)
    assert caught.value.code == "not_available"
    assert not ActiveRoom.objects.exists()


def test_accept_of_an_invite_whose_pair_got_blocked_by_any_other_way_is_not_available(alice, bob):
    go_online(alice, bob)
    invite = send_invite(alice, to=bob.pk, mode="text", seconds=300)
    Block.objects.create(blocker=alice, blocked=bob)  # e.g. a restore: the function still refuses

    with pytest.raises(ServiceError) as caught:
        accept_invite(bob, invite_id=invite.pk, seconds=300)

    assert caught.value.code == "not_available"
    assert not ActiveRoom.objects.exists()


# --- a live call ----------------------------------------------------------------------------------


def test_blocking_from_the_call_screen_ends_the_live_call_as_an_ordinary_end(
    alice, bob, django_capture_on_commit_callbacks
):
    room = ActiveRoomFactory(user_1=alice, user_2=bob)
    inbox = Inbox(alice, bob)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            block_user(bob, alice.pk)
        events = inbox.drain()
    finally:
        inbox.close()

    room.refresh_from_db()
    assert (room.status, room.end_reason) == (ActiveRoom.Status.ENDED, ActiveRoom.EndReason.USER_ENDED)
    for user in (alice, bob):
        ended = [e for e in events[user.pk] if e["type"] == "room.ended"]
        assert ended == [{"type": "room.ended", "room": str(room.pk), "reason": "user_ended"}]
    audit = AuditLog.objects.get(event_type="user.blocked")
    assert audit.details["room_ended"] == str(room.pk)


def test_a_block_leaves_a_live_call_with_someone_else_alone(alice, bob, stranger):
    room = ActiveRoomFactory(user_1=alice, user_2=stranger)

    block_user(alice, bob.pk)

    room.refresh_from_db()
    assert room.status != ActiveRoom.Status.ENDED


def test_a_block_ends_nothing_already_finished(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    ended_at = room.ended_at

    block_user(alice, bob.pk)

    room.refresh_from_db()
    assert room.ended_at == ended_at
