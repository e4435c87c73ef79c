"""Inside a room over /ws/: every room
message is checked against membership of that live room, chat messages are stored before
they are delivered, relays go to the partner only and are never stored, and the server ends
rooms (timer, inactivity) exactly once with the bookkeeping for both users.

Time is moved in the database (started_at, ends_at, last message timestamps), never slept."""

import asyncio
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chat import services
from chat.models import ActiveRoom, ChatHistory, SessionCompletion, TextChatMessage
from tests.ws_helpers import (
    age_room,
    allow_next_message,
    apply_room_timers,
    assert_room_finished,
    bookkeeping,
    count,
    get_room,
    messages_of,
    refreshed,
    run,
    start_room,
    update_room,
)

pytestmark = pytest.mark.django_db(transaction=True)


def chat(room, client_id="c1", text="hello", **extra) -> dict:
    return {"type": "chat.message", "room": room, "client_id": client_id, "text": text, **extra}


# --- chat messages ----------------------------------------------------------------------------


async def test_chat_message_is_stored_then_delivered_with_the_stored_id(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")

    ack = await a.ok(chat(room, "c1", "hi bob"))
    delivered = await b.receive_until("chat.message")

    rows = await messages_of(room)
    assert len(rows) == 1
    row = rows[0]
    assert ack["message_id"] == delivered["message_id"] == row.pk
    assert ack["client_id"] == "c1"
    assert ack["duplicate"] is False
    assert (row.sender_id, row.receiver_id, row.type, row.content, row.client_id) == (
        alice.pk,
        bob.pk,
        TextChatMessage.Type.TEXT,
        "hi bob",
        "c1",
    )
    assert delivered["text"] == "hi bob"
    assert delivered["sender"] == str(alice.pk)
    assert delivered["kind"] == "text"
    assert delivered["room"] == room


async def test_chat_message_of_500_characters_is_accepted_and_501_refused(ws, alice, bob):
    a, _b, room = await start_room(ws, alice, bob, mode="text")

    await a.refused(chat(room, "long", "x" * 501), "invalid_message")
    await a.ok(chat(room, "ok", "x" * 500))

    rows = await messages_of(room)
    assert [len(r.content) for r in rows] == [500]


async def test_blank_chat_message_is_refused(ws, alice, bob):
    a, _, room = await start_room(ws, alice, bob, mode="text")

    await a.refused(chat(room, "blank", "   "), "invalid_message")

    assert await messages_of(room) == []


async def test_second_message_within_1_5_seconds_is_refused_too_fast(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await a.ok(chat(room, "c1", "one"))

    await a.refused(chat(room, "c2", "two"), "too_fast")
    await b.ok(chat(room, "b1", "the partner is not slowed by me"))
    await allow_next_message(room)
    await a.ok(chat(room, "c3", "three"))

    assert [m.client_id for m in await messages_of(room)] == ["c1", "b1", "c3"]


async def test_same_client_id_resent_is_stored_once_and_delivered_once(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    first = await a.ok(chat(room, "same", "hello"))
    await b.receive_until("chat.message", message_id=first["message_id"])

    again = await a.ok(chat(room, "same", "hello"))

    assert again["message_id"] == first["message_id"]
    assert again["duplicate"] is True
    assert await count(TextChatMessage, room_id=room) == 1
    await b.assert_no_event("chat.message")


async def test_same_client_id_from_two_tabs_at_once_is_stored_once(ws, alice, bob):
    _, b, room = await start_room(ws, alice, bob, mode="text")
    b2 = await ws.connect(bob)
    message = chat(room, "twice", "from two tabs")

    ids = [await b.send(message), await b2.send(message)]
    replies = await asyncio.gather(
        b.receive_until(("ack", "error"), id=ids[0]), b2.receive_until(("ack", "error"), id=ids[1])
    )

    assert await count(TextChatMessage, room_id=room) == 1
    for reply in replies:
        assert reply["type"] == "ack" or reply["code"] == "too_fast", replies
    assert any(r["type"] == "ack" and r["duplicate"] is False for r in replies)


@pytest.mark.parametrize("host", settings.GIF_HOSTS)
async def test_gif_from_an_allowed_host_over_https_is_stored(ws, alice, bob, host):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    url = f"https://{host}/media/abc/giphy.gif"

    ack = await a.ok(chat(room, "g1", "", gif_url=url))
    delivered = await b.receive_until("chat.message", message_id=ack["message_id"])

    assert delivered["kind"] == "gif"
    assert delivered["url"] == url
    row = (await messages_of(room))[0]
    assert (row.type, row.url) == (TextChatMessage.Type.GIF, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://media.giphy.com/media/abc/giphy.gif",
        "https://evil.example/giphy.gif",
        "https://media.giphy.com.evil.example/giphy.gif",
        "https://evilmedia.giphy.com/giphy.gif",
        "javascript:alert(1)",
        "//media.giphy.com/giphy.gif",
        "data:image/gif;base64,R0lGODlh",
    ],
)
async def test_gif_from_elsewhere_or_without_https_is_refused(ws, alice, bob, url):
    a, b, room = await start_room(ws, alice, bob, mode="text")

    await a.refused(chat(room, "g1", "", gif_url=url), "invalid_message")

    assert await messages_of(room) == []
    await b.assert_no_event("chat.message")


@pytest.mark.parametrize("field", ["text", "client_id"])
async def test_nul_character_in_chat_message_is_invalid_message_not_server_error(ws, alice, bob, field):
    """PostgreSQL text cannot hold NUL: it must be refused as input, not reach the database
    (which raised DataError: a logged traceback and a server_error reply)."""
    a, b, room = await start_room(ws, alice, bob, mode="text")
    message = chat(room, "c1", "hi")
    message[field] = "bad\x00value"

    await a.refused(message, "invalid_message")

    assert await messages_of(room) == []
    await b.assert_no_event("chat.message")
    assert await a.is_open()


# --- strangers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        {"type": "chat.message", "client_id": "s1", "text": "let me in"},
        {"type": "rtc.offer", "sdp": "v=0"},
        {"type": "rtc.answer", "sdp": "v=0"},
        {"type": "rtc.ice", "candidate": {"candidate": "x"}},
        {"type": "chat.typing"},
        {"type": "room.end"},
        {"type": "room.share_socials"},
        {"type": "room.upgrade_request"},
        {"type": "room.upgrade_accept"},
    ],
    ids=lambda m: m["type"],
)
async def test_stranger_sending_a_room_message_gets_not_a_member_and_nothing_happens(ws, alice, bob, stranger, message):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    s = await ws.connect(stranger)

    await s.refused({**message, "room": room}, "not_a_member")

    assert await messages_of(room) == []
    assert (await get_room(room)).status == ActiveRoom.Status.ACTIVE
    await a.assert_nothing()
    await b.assert_nothing()


# --- relays -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "field", "value"),
    [
        ({"type": "rtc.offer", "sdp": "v=0 offer"}, "sdp", "v=0 offer"),
        ({"type": "rtc.answer", "sdp": "v=0 answer"}, "sdp", "v=0 answer"),
        (
            {"type": "rtc.ice", "candidate": {"candidate": "candidate:1 1 udp"}},
            "candidate",
            {"candidate": "candidate:1 1 udp"},
        ),
        ({"type": "rtc.ice", "candidate": None}, "candidate", None),
        ({"type": "chat.typing"}, None, None),
    ],
    ids=["offer", "answer", "ice", "end-of-candidates", "typing"],
)
async def test_relay_goes_to_the_partner_only_and_is_never_stored(ws, alice, bob, stranger, message, field, value):
    a, b, room = await start_room(ws, alice, bob)
    s = await ws.connect(stranger)
    a_tab_2 = await ws.connect(alice)

    await a.send({**message, "room": room})
    relayed = await b.receive_until(message["type"])

    assert relayed["room"] == room
    assert relayed["from"] == str(alice.pk)
    if field:
        assert relayed[field] == value
    await a.assert_no_event(message["type"])
    await a_tab_2.assert_no_event(message["type"])
    await s.assert_nothing()
    assert await count(TextChatMessage) == 0


async def test_relays_flow_both_ways(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob)

    await a.send({"type": "rtc.offer", "room": room, "sdp": "offer"})
    await b.receive_until("rtc.offer", sdp="offer")
    await b.send({"type": "rtc.answer", "room": room, "sdp": "answer"})

    assert (await a.receive_until("rtc.answer"))["sdp"] == "answer"


# --- ending by a member -----------------------------------------------------------------------


@pytest.mark.parametrize("ender", ["caller", "callee"])
async def test_room_end_by_either_side_tells_both_with_metrics(ws, alice, bob, ender):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await age_room(room, 45)
    sender = a if ender == "caller" else b

    await sender.ok({"type": "room.end", "room": room})

    for socket, user in ((a, alice), (b, bob)):
        ended = await socket.receive_until("room.ended", room=room)
        assert ended["reason"] == "user_ended"
        metrics = await socket.receive_until("me.metrics")
        fresh = await refreshed(user)
        assert metrics["timer_total_seconds"] == fresh.timer_total_seconds >= 45
        assert metrics["session_count"] == 1
    await assert_room_finished(room, alice, bob, reason="user_ended")


async def test_ending_twice_is_harmless(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob)
    await age_room(room, 40)
    await a.ok({"type": "room.end", "room": room})
    await a.receive_until("room.ended")
    await b.receive_until("room.ended")

    # A retry (its first answer lost) and the other side's late end get the committed result.
    for socket in (a, b):
        ack = await socket.ok({"type": "room.end", "room": room})
        assert (ack["room"], ack["already_ended"]) == (room, True)
    assert await run(services.apply_room_timers)(room) is None

    await a.assert_no_event("room.ended")
    await b.assert_no_event("room.ended")
    rows = await assert_room_finished(room, alice, bob, reason="user_ended")
    assert rows[str(alice.pk)]["session_count"] == 1


async def test_both_sides_ending_at_once_count_once(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob)
    await age_room(room, 40)

    replies = await asyncio.gather(
        a.request({"type": "room.end", "room": room}), b.request({"type": "room.end", "room": room})
    )

    for reply in replies:
        assert reply["type"] == "ack", replies
    assert sorted(reply["already_ended"] for reply in replies) == [False, True]
    for socket in (a, b):
        await socket.receive_until("room.ended", room=room)
        await socket.assert_no_event("room.ended")
    await assert_room_finished(room, alice, bob, reason="user_ended")


async def test_finished_room_leaves_history_completions_totals_and_a_cooldown(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await age_room(room, 50)
    first = await a.ok(chat(room, "c1", "nice to meet you"))
    second = await b.ok(chat(room, "b1", "likewise"))

    await b.ok({"type": "room.end", "room": room})
    await a.receive_until("room.ended")

    rows = await assert_room_finished(room, alice, bob, reason="user_ended")
    duration = rows[str(alice.pk)]["completions"][0].duration_seconds
    assert 50 <= duration <= 52
    for user, partner in ((alice, bob), (bob, alice)):
        history = rows[str(user.pk)]["history"][0]
        assert history.partner_id == partner.pk
        assert history.partner_name == partner.name
        assert history.chat_mode == "text"
        assert [(m["id"], m["text"]) for m in history.messages] == [
            (first["message_id"], "nice to meet you"),
            (second["message_id"], "likewise"),
        ]
        completion = rows[str(user.pk)]["completions"][0]
        assert completion.partner_id == partner.pk
        assert rows[str(user.pk)]["timer_total_seconds"] == duration
    # They can no longer invite each other.
    await a.refused({"type": "call.invite", "to": str(bob.pk), "mode": "video", "seconds": 300}, "on_cooldown")
    await b.refused({"type": "call.invite", "to": str(alice.pk), "mode": "text", "seconds": 300}, "on_cooldown")


async def test_messages_to_an_ended_room_are_refused_room_ended(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await a.ok({"type": "room.end", "room": room})

    await b.refused(chat(room, "late", "still there?"), "room_ended")
    await b.refused({"type": "rtc.offer", "room": room, "sdp": "v=0"}, "room_ended")

    assert await messages_of(room) == []


async def test_timer_totals_accumulate_over_rooms_and_equal_the_sum_of_completions(ws, alice, bob, stranger):
    a, b, room = await start_room(ws, alice, bob)
    await age_room(room, 70)
    await a.ok({"type": "room.end", "room": room})
    await ws.disconnect(b)

    s = await ws.connect(stranger, available=True)
    invited = await a.ok({"type": "call.invite", "to": str(stranger.pk), "mode": "text", "seconds": 120})
    accepted = await s.ok({"type": "call.accept", "invite": invited["invite"], "seconds": 120})
    await age_room(accepted["room"], 30)
    await s.ok({"type": "room.end", "room": accepted["room"]})

    rows = await bookkeeping(accepted["room"], alice)
    data = rows[str(alice.pk)]
    assert await count(SessionCompletion, user=alice) == 2
    assert data["timer_total_seconds"] == data["sum_of_completions"] >= 100
    assert data["session_count"] == 2


# --- the server ends rooms --------------------------------------------------------------------


async def test_room_past_its_ends_at_is_ended_by_timer_with_duration_capped(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, seconds=120)
    await age_room(room, 120 + 100)  # ended 100 s ago, nobody checked

    await apply_room_timers(room, acts="timer")

    for socket in (a, b):
        ended = await socket.receive_until("room.ended", room=room)
        assert ended["reason"] == "timer"
        await socket.receive_until("me.metrics")
    await assert_room_finished(room, alice, bob, reason="timer", duration=120)


async def test_apply_room_timers_before_the_deadline_does_nothing(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, seconds=120)
    await age_room(room, 30)

    assert await run(services.apply_room_timers)(room) is None

    assert (await get_room(room)).status == ActiveRoom.Status.ACTIVE
    await a.assert_nothing()
    await b.assert_nothing()


async def test_chat_message_after_the_timer_ran_out_is_refused_room_ended(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=60)
    await age_room(room, 61)

    await a.refused(chat(room, "late", "one more thing"), "room_ended")

    assert await messages_of(room) == []
    await b.assert_no_event("chat.message")


async def test_chat_message_after_the_timer_ran_out_ends_the_room(ws, alice, bob):
    """The refusal must not lose the end: an on_commit hook registered before raising was
    rolled back with the transaction, leaving the room live until a timer noticed."""
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=60)
    await age_room(room, 61)

    await a.refused(chat(room, "late", "one more thing"), "room_ended")

    for socket in (a, b):
        ended = await socket.receive_until("room.ended", room=room, timeout=2)
        assert ended["reason"] == "timer"
    await assert_room_finished(room, alice, bob, reason="timer", duration=60)


async def test_relay_after_the_timer_ran_out_is_refused(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, seconds=60)
    await age_room(room, 61)

    await a.refused({"type": "rtc.offer", "room": room, "sdp": "v=0"}, "room_ended")

    await b.assert_no_event("rtc.offer")


async def test_silent_text_room_gets_an_inactivity_warning_after_60_seconds(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    aged = await age_room(room, 61)

    await apply_room_timers(room, acts="warned")

    for socket in (a, b):
        warning = await socket.receive_until("room.inactivity_warning", room=room)
        assert warning["ends_at"] == (aged.started_at + timedelta(seconds=120)).isoformat()
    assert (await get_room(room)).inactivity_warned_at is not None
    # Warned once: a second check sends nothing more.
    assert await run(services.apply_room_timers)(room) is None
    await a.assert_no_event("room.inactivity_warning")
    await b.assert_no_event("room.inactivity_warning")


async def test_text_room_is_not_warned_before_60_seconds_of_silence(ws, alice, bob):
    a, _b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 50)

    assert await run(services.apply_room_timers)(room) is None

    await a.assert_no_event("room.inactivity_warning")


async def test_a_message_clears_the_inactivity_warning(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 61)
    await apply_room_timers(room, acts="warned")
    await a.receive_until("room.inactivity_warning")
    await b.receive_until("room.inactivity_warning")

    await a.ok(chat(room, "a1", "still here"))
    await b.ok(chat(room, "b1", "me too"))

    assert (await get_room(room)).inactivity_warned_at is None
    assert await run(services.apply_room_timers)(room) is None
    await a.assert_no_event("room.inactivity_warning")
    await b.assert_no_event("room.inactivity_warning")


async def test_text_room_silent_for_120_seconds_is_ended_for_inactivity(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 61)
    await apply_room_timers(room, acts="warned")
    await a.receive_until("room.inactivity_warning")
    await b.receive_until("room.inactivity_warning")
    await age_room(room, 60)  # 121 s in, still nobody wrote

    await apply_room_timers(room, acts="inactivity")

    for socket in (a, b):
        ended = await socket.receive_until("room.ended", room=room)
        assert ended["reason"] == "inactivity"
    await assert_room_finished(room, alice, bob, reason="inactivity")


async def test_text_room_where_one_side_is_silent_for_120_seconds_is_ended(ws, alice, bob):
    _a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 121)
    await update_room(room, user_1_last_message_at=timezone.now())  # alice (user_1) just wrote; bob never did

    await apply_room_timers(room, acts="inactivity")

    await b.receive_until("room.ended", room=room, reason="inactivity")


async def test_video_room_never_ends_for_inactivity(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="video", seconds=600)
    await age_room(room, 300)

    assert await run(services.apply_room_timers)(room) is None
    assert await run(services.end_overdue_rooms)() == 0

    assert (await get_room(room)).status == ActiveRoom.Status.ACTIVE
    await a.assert_nothing()
    await b.assert_nothing()


# --- upgrade to video -------------------------------------------------------------------------


async def test_upgrade_request_in_the_first_minute_is_not_allowed_now(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")

    await a.refused({"type": "room.upgrade_request", "room": room}, "not_allowed_now")

    await b.assert_no_event("room.upgrade_requested")


async def test_upgrade_request_after_a_minute_and_partner_accept_make_it_video(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 61)

    await a.ok({"type": "room.upgrade_request", "room": room})
    requested = await b.receive_until("room.upgrade_requested", room=room)
    await a.refused({"type": "room.upgrade_accept", "room": room}, "not_allowed_now")  # not my own request
    await b.ok({"type": "room.upgrade_accept", "room": room})

    assert requested["by"] == str(alice.pk)
    for socket in (a, b):
        upgraded = await socket.receive_until("room.upgraded", room=room)
        assert upgraded["mode"] == "video"
    row = await get_room(room)
    assert row.chat_mode == "video"
    assert row.upgraded_at is not None


async def test_upgraded_room_no_longer_ends_for_inactivity(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 61)
    await a.ok({"type": "room.upgrade_request", "room": room})
    await b.ok({"type": "room.upgrade_accept", "room": room})
    await age_room(room, 100)

    assert await run(services.apply_room_timers)(room) is None

    assert (await get_room(room)).status == ActiveRoom.Status.ACTIVE


async def test_upgrade_accept_without_a_request_is_not_allowed_now(ws, alice, bob):
    _a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 61)

    await b.refused({"type": "room.upgrade_accept", "room": room}, "not_allowed_now")

    assert (await get_room(room)).chat_mode == "text"


async def test_upgrade_request_in_a_video_room_is_not_allowed_now(ws, alice, bob):
    a, _, room = await start_room(ws, alice, bob, mode="video", seconds=600)
    await age_room(room, 61)

    await a.refused({"type": "room.upgrade_request", "room": room}, "not_allowed_now")


async def test_text_room_due_for_inactivity_cannot_be_saved_by_an_upgrade(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text", seconds=600)
    await age_room(room, 130)  # both silent for 130 s: the room is due to end

    await a.request({"type": "room.upgrade_request", "room": room})
    await b.request({"type": "room.upgrade_accept", "room": room})
    await apply_room_timers(room, acts="inactivity")

    row = await get_room(room)
    assert (row.status, row.end_reason) == (ActiveRoom.Status.ENDED, "inactivity")
    assert row.upgraded_at is None


# --- socials ----------------------------------------------------------------------------------


async def test_share_socials_sends_my_socials_to_the_partner_as_a_system_message(ws, alice, bob):
    await run(User.objects.filter(pk=bob.pk).update)(socials={"instagram": "bob.trojan", "snapchat": "bobsnap"})
    a, b, room = await start_room(ws, alice, bob, mode="text")

    ack = await b.ok({"type": "room.share_socials", "room": room})
    shared = await a.receive_until("chat.message", message_id=ack["message_id"])

    assert shared["kind"] == "system"
    assert shared["socials"] == {"instagram": "bob.trojan", "snapchat": "bobsnap"}
    assert "bob.trojan" in shared["text"]
    rows = await messages_of(room)
    assert [(r.type, r.sender_id, r.receiver_id) for r in rows] == [(TextChatMessage.Type.SYSTEM, bob.pk, alice.pk)]


async def test_sharing_socials_with_none_set_is_refused_in_words_and_stores_nothing(ws, alice, bob):
    _a, b, room = await start_room(ws, alice, bob, mode="text")

    refused = await b.refused({"type": "room.share_socials", "room": room}, "not_allowed_now")

    assert refused["message"] == "You have no socials to share yet: add them in Settings."
    assert await messages_of(room) == []


async def test_share_socials_after_the_timer_ran_out_is_refused_room_ended(ws, alice, bob):
    _a, b, room = await start_room(ws, alice, bob, mode="text", seconds=60)
    await age_room(room, 61)

    await b.refused({"type": "room.share_socials", "room": room}, "room_ended")

    assert await messages_of(room) == []


async def test_shared_socials_are_in_the_chat_history_snapshot(ws, alice, bob):
    await run(User.objects.filter(pk=alice.pk).update)(socials={"instagram": "alice.ig"})
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await age_room(room, 30)
    await a.ok({"type": "room.share_socials", "room": room})
    await a.ok({"type": "room.end", "room": room})
    await b.receive_until("room.ended")

    history = await run(ChatHistory.objects.get)(room_id=room, user=bob)

    assert len(history.messages) == 1
    assert "alice.ig" in history.messages[0]["text"]
    assert history.messages[0]["kind"] == "system"
