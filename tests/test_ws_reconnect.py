"""Disconnects and reconnects in a room: when a member's last socket goes, the room waits 10 s (grace);
coming back within it gets `room.resume` with the messages missed since `since`, and a
resent chat.message is stored once; not coming back ends the room as "disconnect" with the
bookkeeping for both. A second tab closing is not a disconnect. A new login closes the old
session's sockets."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuthSession, IPBan, User
from accounts.services.sessions import start_session
from chat import consumers, services
from chat.models import ActiveRoom, TextChatMessage
from tests.ws_helpers import (
    CLIENT,
    age_room,
    allow_next_message,
    apply_room_timers,
    assert_room_finished,
    count,
    get_room,
    messages_of,
    run,
    start_room,
    update_room,
)

pytestmark = pytest.mark.django_db(transaction=True)


def chat(room, client_id, text) -> dict:
    return {"type": "chat.message", "room": room, "client_id": client_id, "text": text}


# --- grace ------------------------------------------------------------------------------------
# start_room makes the caller (alice) user_1 and the callee (bob) user_2.


async def test_last_socket_gone_starts_a_10_second_grace_and_tells_the_partner(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")

    await ws.disconnect(b)

    gone = await a.receive_until("room.partner_disconnected", room=room)
    row = await get_room(room)
    assert row.status == ActiveRoom.Status.GRACE_PERIOD
    assert row.user_2_connected is False
    assert row.user_1_connected is True
    assert abs(row.grace_period_expires - (timezone.now() + timedelta(seconds=10))) < timedelta(seconds=3)
    assert gone["grace_until"] == row.grace_period_expires.isoformat()


async def test_reconnect_within_grace_resumes_with_only_the_missed_messages(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    seen = await a.ok(chat(room, "a1", "before you left"))
    await b.receive_until("chat.message", message_id=seen["message_id"])
    ends_at = (await get_room(room)).ends_at
    await ws.disconnect(b)
    await a.receive_until("room.partner_disconnected")
    await allow_next_message(room)
    missed_1 = await a.ok(chat(room, "a2", "are you there?"))
    await allow_next_message(room)
    missed_2 = await a.ok(chat(room, "a3", "hello?"))

    b2 = await ws.connect(bob, since=seen["message_id"])
    resume = await b2.receive_until("room.resume")

    assert resume["room"] == room
    assert resume["ends_at"] == ends_at.isoformat()
    assert resume["partner"]["id"] == str(alice.pk)
    assert [m["message_id"] for m in resume["messages"]] == [missed_1["message_id"], missed_2["message_id"]]
    assert [m["text"] for m in resume["messages"]] == ["are you there?", "hello?"]
    await a.receive_until("room.partner_reconnected", room=room)
    row = await get_room(room)
    assert row.status == ActiveRoom.Status.ACTIVE
    assert row.grace_period_expires is None
    assert row.user_2_connected is True
    # The call goes on.
    await allow_next_message(room)
    back = await b2.ok(chat(room, "b1", "back!"))
    assert (await a.receive_until("chat.message", message_id=back["message_id"]))["text"] == "back!"


async def test_reconnect_without_since_replays_every_message(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    first = await a.ok(chat(room, "a1", "one"))
    second = await b.ok(chat(room, "b1", "two"))
    await ws.disconnect(b)

    b2 = await ws.connect(bob)
    resume = await b2.receive_until("room.resume")

    assert [m["message_id"] for m in resume["messages"]] == [first["message_id"], second["message_id"]]


async def test_room_resume_message_replays_from_since(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    first = await a.ok(chat(room, "a1", "one"))
    await allow_next_message(room)
    second = await a.ok(chat(room, "a2", "two"))

    await b.ok({"type": "room.resume", "since": first["message_id"]})
    resume = await b.receive_until("room.resume")

    assert [m["message_id"] for m in resume["messages"]] == [second["message_id"]]


async def test_room_resume_outside_a_room_is_refused(ws, alice):
    a = await ws.connect(alice)

    await a.refused({"type": "room.resume"}, "not_in_room")


async def test_resent_message_after_reconnect_is_stored_once(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    original = await b.ok(chat(room, "b-42", "did this arrive?"))
    await a.receive_until("chat.message", message_id=original["message_id"])
    await ws.disconnect(b)  # the client never saw its ack, say, and resends

    b2 = await ws.connect(bob)
    await b2.receive_until("room.resume")
    resent = await b2.ok(chat(room, "b-42", "did this arrive?"))

    assert resent["duplicate"] is True
    assert resent["message_id"] == original["message_id"]
    assert await count(TextChatMessage, room_id=room, client_id="b-42") == 1
    await a.assert_no_event("chat.message")


# --- grace runs out ---------------------------------------------------------------------------


async def test_not_reconnecting_within_grace_ends_the_room_as_disconnect(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await age_room(room, 40)
    await ws.disconnect(b)
    await a.receive_until("room.partner_disconnected")
    await update_room(room, grace_period_expires=timezone.now() - timedelta(seconds=1))

    await apply_room_timers(room, acts="disconnect")

    ended = await a.receive_until("room.ended", room=room)
    assert ended["reason"] == "disconnect"
    await a.receive_until("me.metrics")
    await assert_room_finished(room, alice, bob, reason="disconnect")


async def test_grace_does_not_end_the_room_before_it_expires(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await ws.disconnect(b)
    await a.receive_until("room.partner_disconnected")

    assert await run(services.apply_room_timers)(room) is None

    assert (await get_room(room)).status == ActiveRoom.Status.GRACE_PERIOD
    await a.assert_no_event("room.ended")


async def test_reconnect_after_grace_expired_gets_room_ended_not_resume(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await age_room(room, 40)
    await ws.disconnect(b)
    await a.receive_until("room.partner_disconnected")
    await update_room(room, grace_period_expires=timezone.now() - timedelta(seconds=1))

    b2 = await ws.connect(bob)

    ended = await b2.receive_until("room.ended", room=room)
    assert ended["reason"] == "disconnect"
    await b2.assert_no_event("room.resume")
    await a.receive_until("room.ended", room=room)
    await assert_room_finished(room, alice, bob, reason="disconnect")


async def test_both_gone_and_one_back_keeps_grace_running(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await ws.disconnect(b)
    await ws.disconnect(a)

    a2 = await ws.connect(alice)
    await a2.receive_until("room.resume")

    row = await get_room(room)
    assert row.status == ActiveRoom.Status.GRACE_PERIOD
    assert (row.user_1_connected, row.user_2_connected) == (True, False)


# --- tabs and sessions ------------------------------------------------------------------------


async def test_closing_one_of_two_tabs_does_not_start_the_grace(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    b_tab_2 = await ws.connect(bob)
    await b_tab_2.receive_until("room.resume")

    await ws.disconnect(b)

    await a.assert_no_event("room.partner_disconnected")
    row = await get_room(room)
    assert row.status == ActiveRoom.Status.ACTIVE
    assert row.user_2_connected is True
    # The remaining tab still gets the room's events.
    sent = await a.ok(chat(room, "a1", "still with me?"))
    await b_tab_2.receive_until("chat.message", message_id=sent["message_id"])


async def test_closing_the_last_of_two_tabs_starts_the_grace(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    b_tab_2 = await ws.connect(bob)

    await ws.disconnect(b)
    await ws.disconnect(b_tab_2)

    await a.receive_until("room.partner_disconnected", room=room)
    assert (await get_room(room)).status == ActiveRoom.Status.GRACE_PERIOD


async def test_new_login_closes_the_old_sessions_socket_with_4001(ws, alice):
    old = await ws.connect(alice)
    old_session = old.session_id

    await run(start_session)(alice, ip="127.0.0.1")

    code, reason, messages = await old.expect_close()
    assert (code, reason) == (4001, "session_invalidated")
    invalidated = [m for m in messages if m.get("type") == "session_invalidated"]
    assert len(invalidated) == 1
    assert old_session in invalidated[0]["sessions"]
    assert not (await run(AuthSession.objects.get)(pk=old_session)).is_active


async def test_new_login_socket_is_not_closed_by_its_own_login(ws, alice):
    old = await ws.connect(alice)
    ws.tokens.clear()
    new = await ws.connect(alice)  # a new login (new token), then its socket

    await old.expect_close()

    assert await new.is_open()


async def test_closed_session_token_cannot_reconnect(ws, alice):
    old_token = await ws.token_for(alice)
    await ws.connect(alice)
    await run(start_session)(alice, ip="127.0.0.1")

    retry = await ws.raw()
    await retry.send({"type": "auth", "token": old_token})

    code, reason, _ = await retry.expect_close()
    assert (code, reason) == (4001, "invalid_token")


async def test_new_login_during_a_call_resumes_the_room_on_the_new_socket(ws, alice, bob):
    _a, b, room = await start_room(ws, alice, bob, mode="text")
    ws.tokens.pop(str(bob.pk))

    b2 = await ws.connect(bob)  # logs in again: the old socket is closed

    await b.expect_close()
    resume = await b2.receive_until("room.resume")
    assert resume["room"] == room
    assert await messages_of(room) == []


async def test_a_ping_on_a_revoked_session_closes_the_socket_even_if_the_push_was_lost(ws, alice, monkeypatch):
    """Pushes may be lost; the heartbeat re-checks the session in the database (when the check
    is due: at most every SESSION_RECHECK_SECONDS, here at every ping)."""
    from accounts.models import AuthSession

    monkeypatch.setattr(consumers, "SESSION_RECHECK_SECONDS", 0)
    socket = await ws.connect(alice)
    # Revoke the session behind the socket's back: no session_invalidated push is sent.
    await run(lambda: AuthSession.objects.filter(pk=socket.session_id).update(is_active=False))()
    await socket.send_json_to({"type": "ping", "id": "p"})
    closing = await socket.receive_until("closing")
    assert (closing["code"], closing["reason"]) == (4001, "session_invalidated")


def _expire_the_guest(user):
    User.objects.filter(pk=user.pk).update(
        account_type=User.AccountType.GUEST, account_expires_at=timezone.now() - timedelta(seconds=1)
    )


def _ban_the_socket_address(user):
    IPBan.objects.create(ip=CLIENT[0])


@pytest.mark.parametrize("change", [_expire_the_guest, _ban_the_socket_address], ids=["expired-guest", "banned-ip"])
async def test_a_ping_closes_the_socket_whatever_sign_in_would_now_refuse(ws, alice, change, monkeypatch):
    """The heartbeat's re-check is sign-in's check (session_refusal): a guest whose account ran
    out and an address banned since the socket signed in are refused too, not only a revoked
    session."""
    monkeypatch.setattr(consumers, "SESSION_RECHECK_SECONDS", 0)
    socket = await ws.connect(alice)
    await run(change)(alice)
    await socket.send_json_to({"type": "ping", "id": "p"})
    closing = await socket.receive_until("closing")
    assert (closing["code"], closing["reason"]) == (4001, "session_invalidated")
