"""Call invites over /ws/: invite, incoming,
accept (room length = floor of the mean), decline (24 h cooldown), cancel (1 h cooldown), the
20-second expiry enforced by the server, and the races: two tabs accepting at once, two
people inviting each other at once."""

import asyncio
import math
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import ActiveRoom, ActiveRoomMember, CallInvite, Cooldown
from tests.factories import ActiveRoomFactory, CooldownFactory, UserFactory
from tests.ws_helpers import (
    cooldown_between,
    count,
    expire_invite_now,
    get_invite,
    get_room,
    run,
)

pytestmark = pytest.mark.django_db(transaction=True)


def invite(to, *, mode="video", seconds=300) -> dict:
    return {"type": "call.invite", "to": str(to.pk), "mode": mode, "seconds": seconds}


async def invite_ack(caller_socket, callee, **kwargs) -> dict:
    return await caller_socket.ok(invite(callee, **kwargs))


# --- the full flow ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "caller_seconds", "callee_seconds"),
    [("video", 300, 121), ("text", 61, 1800)],
)
async def test_accepted_invite_starts_a_room_of_the_mean_length_for_both(
    ws, alice, bob, mode, caller_seconds, callee_seconds
):
    a = await ws.connect(alice, available=True)
    b = await ws.connect(bob, available=True)

    ack = await invite_ack(a, bob, mode=mode, seconds=caller_seconds)
    incoming = await b.receive_until("call.incoming", invite=ack["invite"])
    accepted = await b.ok({"type": "call.accept", "invite": ack["invite"], "seconds": callee_seconds})
    start_a = await a.receive_until("room.start")
    start_b = await b.receive_until("room.start")

    expected = math.floor((caller_seconds + callee_seconds) / 2)
    assert incoming["from"] == str(alice.pk)
    assert incoming["mode"] == mode
    assert incoming["seconds"] == caller_seconds
    assert incoming["caller"]["id"] == str(alice.pk)
    assert incoming["caller"]["name"] == "Alice"
    assert start_a["room"] == start_b["room"] == accepted["room"]
    assert start_a["ends_at"] == start_b["ends_at"] == accepted["ends_at"]
    assert start_a["partner"]["id"] == str(bob.pk)
    assert start_b["partner"]["id"] == str(alice.pk)
    assert start_a["duration_seconds"] == start_b["duration_seconds"] == expected
    assert start_a["mode"] == mode

    row = await get_invite(ack["invite"])
    assert row.status == CallInvite.Status.ACCEPTED
    assert row.callee_seconds == callee_seconds
    assert str(row.room_id) == accepted["room"]
    assert row.responded_at is not None
    room = await get_room(accepted["room"])
    assert room.status == ActiveRoom.Status.ACTIVE
    assert room.chat_mode == mode
    assert room.duration_seconds == expected
    assert room.ends_at - room.started_at == timedelta(seconds=expected)
    assert {room.user_1_id, room.user_2_id} == {alice.pk, bob.pk}
    assert await count(ActiveRoomMember, room_id=room.pk) == 2


async def test_invite_ack_carries_the_invite_and_its_20_second_expiry(ws, alice, bob):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    ack = await invite_ack(a, bob)

    row = await get_invite(ack["invite"])
    assert row.status == CallInvite.Status.PENDING
    assert row.expires_at - row.created_at == timedelta(seconds=20)
    assert ack["expires_at"] == row.expires_at.isoformat()


# --- refusals ---------------------------------------------------------------------------------


async def test_invite_to_offline_user_is_refused_not_available(ws, alice, bob):
    a = await ws.connect(alice)

    await a.refused(invite(bob), "not_available")

    assert await count(CallInvite) == 0


async def test_invite_to_user_whose_last_socket_closed_is_refused(ws, alice, bob):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    await ws.disconnect(b)

    await a.refused(invite(bob), "not_available")


async def test_invite_to_online_but_unavailable_user_is_refused(ws, alice, bob):
    a = await ws.connect(alice)
    await ws.connect(bob, available=False)

    await a.refused(invite(bob), "not_available")


async def test_invite_for_a_mode_the_callee_is_not_available_for_is_refused(ws, alice, bob):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True, modes=("text",))

    await a.refused(invite(bob, mode="video"), "not_available")
    await a.ok(invite(bob, mode="text"))


async def test_invite_to_user_in_a_room_is_refused_busy(ws, alice, bob, stranger):
    await run(ActiveRoomFactory)(user_1=bob, user_2=stranger)
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    await a.refused(invite(bob), "busy")

    assert await count(CallInvite) == 0


async def test_invite_from_user_in_a_room_is_refused(ws, alice, bob, stranger):
    await run(ActiveRoomFactory)(user_1=alice, user_2=stranger)
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    await a.refused(invite(bob), "already_in_room")


async def test_invite_to_pair_on_cooldown_is_refused(ws, alice, bob):
    await run(CooldownFactory)(user_low=alice, user_high=bob)
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    await a.refused(invite(bob), "on_cooldown")


async def test_expired_cooldown_does_not_refuse(ws, alice, bob):
    past = timezone.now() - timedelta(hours=1)
    await run(CooldownFactory)(user_low=alice, user_high=bob, created_at=past - timedelta(days=1), expires_at=past)
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    await a.ok(invite(bob))


async def test_second_invite_while_one_is_pending_is_refused(ws, alice, bob):
    charlie = await run(UserFactory)(name="Charlie")
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)
    await ws.connect(charlie, available=True)
    await invite_ack(a, bob)

    await a.refused(invite(charlie), "invite_pending")

    assert await count(CallInvite, from_user=alice) == 1


async def test_invite_to_someone_with_a_pending_invite_is_refused_busy(ws, alice, bob, stranger):
    a = await ws.connect(alice)
    s = await ws.connect(stranger)
    await ws.connect(bob, available=True)
    await invite_ack(a, bob)

    await s.refused(invite(bob), "busy")


async def test_after_the_20_seconds_a_new_invite_is_possible(ws, alice, bob):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)
    first = await invite_ack(a, bob)
    await expire_invite_now(first["invite"])

    second = await invite_ack(a, bob)

    assert second["invite"] != first["invite"]
    assert (await get_invite(first["invite"])).status == CallInvite.Status.EXPIRED


@pytest.mark.parametrize("seconds", [59, 1801, 0, -60, "300", 300.5, True, None])
async def test_invite_seconds_outside_60_to_1800_is_a_protocol_error(ws, alice, bob, seconds):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    await a.refused({**invite(bob), "seconds": seconds}, "invalid_message")

    assert await count(CallInvite) == 0


@pytest.mark.parametrize("seconds", [60, 1800])
async def test_invite_seconds_at_the_bounds_are_accepted(ws, alice, bob, seconds):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)

    await a.ok(invite(bob, seconds=seconds))


async def test_accept_seconds_outside_60_to_1800_is_a_protocol_error(ws, alice, bob):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)

    await b.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 1801}, "invalid_message")

    assert (await get_invite(ack["invite"])).status == CallInvite.Status.PENDING


async def test_invite_to_myself_is_refused(ws, alice):
    a = await ws.connect(alice, available=True)

    await a.refused(invite(alice), "invalid_message")


async def test_invite_from_user_without_access_is_refused(ws, bob):
    unpaid = await run(UserFactory)(name="Unpaid", access_status="unpaid")
    u = await ws.connect(unpaid)
    await ws.connect(bob, available=True)

    await u.refused(invite(bob), "no_access")


# --- decline, cancel, expiry -------------------------------------------------------------------


async def test_decline_tells_the_caller_and_sets_a_24_hour_cooldown(ws, alice, bob):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)
    await b.receive_until("call.incoming")

    await b.ok({"type": "call.decline", "invite": ack["invite"]})
    declined = await a.receive_until("call.declined", invite=ack["invite"])

    assert declined["status"] == "declined"
    row = await get_invite(ack["invite"])
    assert row.status == CallInvite.Status.DECLINED
    assert row.responded_at is not None
    cooldown = await cooldown_between(alice, bob)
    assert cooldown.reason == Cooldown.Reason.DECLINED
    assert abs(cooldown.expires_at - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    await a.refused(invite(bob), "on_cooldown")
    assert await count(ActiveRoom) == 0


async def test_cancel_tells_the_callee_and_sets_a_1_hour_cooldown(ws, alice, bob):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)
    await b.receive_until("call.incoming")

    await a.ok({"type": "call.cancel", "invite": ack["invite"]})
    cancelled = await b.receive_until("call.cancelled", invite=ack["invite"])

    assert cancelled["status"] == "cancelled"
    assert (await get_invite(ack["invite"])).status == CallInvite.Status.CANCELLED
    cooldown = await cooldown_between(alice, bob)
    assert cooldown.reason == Cooldown.Reason.CANCELLED
    assert abs(cooldown.expires_at - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)
    await b.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 300}, "invite_not_pending")
    assert await count(ActiveRoom) == 0


async def test_accept_after_20_seconds_is_refused_and_marks_the_invite_expired(ws, alice, bob):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)
    await expire_invite_now(ack["invite"])

    await b.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 300}, "invite_expired")

    row = await get_invite(ack["invite"])
    assert row.status == CallInvite.Status.EXPIRED
    assert row.responded_at is not None
    await a.receive_until("call.expired", invite=ack["invite"])
    await b.receive_until("call.expired", invite=ack["invite"])
    assert await count(ActiveRoom) == 0
    # And a second try is still refused the same way.
    await b.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 300}, "invite_expired")


async def test_expiry_sweep_marks_pending_invite_expired_and_tells_both(ws, alice, bob):
    from chat.services import expire_overdue_invites

    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)
    await expire_invite_now(ack["invite"])

    assert await run(expire_overdue_invites)() == 1

    await a.receive_until("call.expired", invite=ack["invite"])
    await b.receive_until("call.expired", invite=ack["invite"])
    assert (await get_invite(ack["invite"])).status == CallInvite.Status.EXPIRED


async def test_stranger_accepting_someone_elses_invite_gets_invite_not_found(ws, alice, bob, stranger):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)
    s = await ws.connect(stranger)
    ack = await invite_ack(a, bob)

    await s.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 300}, "invite_not_found")
    await s.refused({"type": "call.decline", "invite": ack["invite"]}, "invite_not_found")
    await s.refused({"type": "call.cancel", "invite": ack["invite"]}, "invite_not_found")

    assert (await get_invite(ack["invite"])).status == CallInvite.Status.PENDING
    assert await count(ActiveRoom) == 0
    assert await count(Cooldown) == 0


async def test_caller_cannot_accept_or_decline_their_own_invite(ws, alice, bob):
    a = await ws.connect(alice)
    await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)

    await a.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 300}, "invite_not_found")
    await a.refused({"type": "call.decline", "invite": ack["invite"]}, "invite_not_found")

    assert (await get_invite(ack["invite"])).status == CallInvite.Status.PENDING


async def test_callee_cannot_cancel_the_callers_invite(ws, alice, bob):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)

    await b.refused({"type": "call.cancel", "invite": ack["invite"]}, "invite_not_found")


async def test_accepting_a_made_up_invite_gets_invite_not_found(ws, alice):
    import uuid

    a = await ws.connect(alice)

    await a.refused({"type": "call.accept", "invite": str(uuid.uuid4()), "seconds": 300}, "invite_not_found")


async def test_accept_when_caller_has_meanwhile_entered_a_room_is_refused(ws, alice, bob, stranger):
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    ack = await invite_ack(a, bob)
    await run(ActiveRoomFactory)(user_1=alice, user_2=stranger)

    await b.refused({"type": "call.accept", "invite": ack["invite"], "seconds": 300}, "already_in_room")

    assert await count(ActiveRoom, user_2=bob) == 0


# --- races ------------------------------------------------------------------------------------


async def test_double_accept_from_two_tabs_makes_exactly_one_room(ws, alice, bob):
    a = await ws.connect(alice)
    tab_1 = await ws.connect(bob, available=True)
    tab_2 = await ws.connect(bob)
    ack = await invite_ack(a, bob)
    accept = {"type": "call.accept", "invite": ack["invite"], "seconds": 300}

    ids = [await tab_1.send(accept), await tab_2.send(accept)]
    replies = await asyncio.gather(
        tab_1.receive_until(("ack", "error"), id=ids[0]), tab_2.receive_until(("ack", "error"), id=ids[1])
    )

    assert await count(ActiveRoom) == 1
    room = await run(ActiveRoom.objects.get)()
    acked = [r for r in replies if r["type"] == "ack"]
    assert acked, replies
    assert {r["room"] for r in acked} == {str(room.pk)}
    for reply in replies:
        if reply["type"] == "error":
            assert reply["code"] in ("invite_not_pending", "already_in_room"), reply
    # Each socket of each user hears of exactly one room.
    for socket in (a, tab_1, tab_2):
        await socket.receive_until("room.start", room=str(room.pk))
        await socket.assert_no_event("room.start")


async def test_mutual_invites_at_once_leave_at_most_one_pending_invite_and_no_room(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    b = await ws.connect(bob, available=True)

    replies = await asyncio.gather(a.request(invite(bob)), b.request(invite(alice)))

    pending = await count(CallInvite, status="pending")
    assert pending <= 1
    assert [r["type"] for r in replies].count("ack") == pending
    for reply in replies:
        if reply["type"] == "error":
            assert reply["code"] in ("busy", "invite_pending"), reply
    assert await count(ActiveRoom) == 0


async def test_mutual_invites_then_both_accept_never_make_two_rooms(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    b = await ws.connect(bob, available=True)
    await asyncio.gather(a.request(invite(bob)), b.request(invite(alice)))
    invites = await run(lambda: list(CallInvite.objects.filter(status="pending")))()

    accepts = []
    for row in invites:
        callee_socket = b if row.to_user_id == bob.pk else a
        accepts.append(callee_socket.request({"type": "call.accept", "invite": str(row.pk), "seconds": 300}))
    await asyncio.gather(*accepts)

    assert await count(ActiveRoom) <= 1
    assert await count(ActiveRoomMember, user=alice) <= 1


async def test_accept_cancels_the_other_pending_invites_of_both_users(ws, alice, bob):
    charlie = await run(UserFactory)(name="Charlie")
    a = await ws.connect(alice)
    b = await ws.connect(bob, available=True)
    c = await ws.connect(charlie, available=True)
    ack = await invite_ack(a, bob)
    bobs_own = await invite_ack(b, charlie)  # bob, being invited, invites charlie too

    await b.ok({"type": "call.accept", "invite": ack["invite"], "seconds": 300})

    await c.receive_until("call.cancelled", invite=bobs_own["invite"])
    assert (await get_invite(bobs_own["invite"])).status == CallInvite.Status.CANCELLED
    await c.refused({"type": "call.accept", "invite": bobs_own["invite"], "seconds": 300}, "invite_not_pending")
    assert await count(ActiveRoom) == 1
