"""The /ws/ protocol itself: a socket without a valid token is closed
(4001), banned users and addresses are refused (4003), and after auth nothing a client sends
closes or crashes the socket: every bad message gets an `error` reply with a code, and the
next message still works."""

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import AuthSession, User
from chat import consumers, protocol
from chat.models import TextChatMessage
from moderation.models import IPBan
from tests.factories import UserFactory
from tests.ws_helpers import CLIENT, run

pytestmark = pytest.mark.django_db(transaction=True)


# --- before auth -----------------------------------------------------------------------------


async def test_socket_without_auth_within_deadline_is_closed_4001(ws, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.2)
    socket = await ws.raw()

    code, reason, messages = await socket.expect_close(timeout=3)

    assert (code, reason) == (4001, "auth_timeout")
    assert messages == [{"type": "closing", "code": 4001, "reason": "auth_timeout"}]


async def test_auth_deadline_does_not_close_an_authenticated_socket(ws, alice, monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.2)
    socket = await ws.connect(alice)

    await socket.assert_nothing(timeout=0.5)
    assert await socket.is_open()


async def test_bad_token_is_closed_4001(ws):
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": "not-a-real-token"})

    code, reason, _ = await socket.expect_close()

    assert (code, reason) == (4001, "invalid_token")


async def test_token_of_deactivated_session_is_closed_4001(ws, alice):
    old_token = await ws.token_for(alice)
    ws.tokens.clear()
    await ws.token_for(alice)  # a new login deactivates the old session
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": old_token})

    code, reason, _ = await socket.expect_close()

    assert (code, reason) == (4001, "invalid_token")


async def test_expired_session_is_closed_4001(ws, alice):
    token = await ws.token_for(alice)
    long_ago = timezone.now() - timedelta(days=8)
    await run(AuthSession.objects.filter(user=alice).update)(
        created_at=long_ago, last_active_at=long_ago, expires_at=long_ago + timedelta(days=7)
    )
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": token})

    code, reason, _ = await socket.expect_close()

    assert (code, reason) == (4001, "invalid_token")


async def test_expired_guest_account_is_closed_4001(ws):
    guest = await run(UserFactory)(name="Old guest")
    token = await ws.token_for(guest)
    await run(User.objects.filter(pk=guest.pk).update)(account_expires_at=timezone.now() - timedelta(days=1))
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": token})

    code, _, _ = await socket.expect_close()

    assert code == 4001


async def test_temporarily_banned_user_is_closed_4003_banned(ws):
    banned = await run(UserFactory)(name="Banned", ban_status=User.BanStatus.TEMPORARY)
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": await ws.token_for(banned)})

    code, reason, messages = await socket.expect_close()

    assert (code, reason) == (4003, "banned")
    assert not any(m.get("type") == "ack" for m in messages)


async def test_ip_banned_address_is_closed_4003(ws, alice):
    # WebsocketCommunicator's own scope has no "client"; ours carries 127.0.0.1 as daphne's does.
    assert CLIENT[0] == "127.0.0.1"
    await run(IPBan.objects.create)(ip="127.0.0.1", reason="abuse")
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": await ws.token_for(alice)})

    code, reason, messages = await socket.expect_close()

    assert (code, reason) == (4003, "ip_banned")
    assert not any(m.get("type") == "ack" for m in messages)


async def test_ip_ban_of_another_address_does_not_refuse(ws, alice):
    await run(IPBan.objects.create)(ip="203.0.113.9", reason="abuse")

    socket = await ws.connect(alice)

    assert await socket.is_open()


@pytest.mark.parametrize(
    "first",
    [
        {"type": "ping"},
        {"type": "presence.set", "available": True},
        {"type": "no.such.type"},
        {"type": "auth"},  # auth without a token
    ],
    ids=["ping", "presence", "unknown", "auth-without-token"],
)
async def test_first_message_that_is_not_a_valid_auth_is_closed(ws, first):
    socket = await ws.raw()
    await socket.send(first)

    code, reason, _ = await socket.expect_close()

    assert (code, reason) == (4001, "not_authenticated")


# --- after auth: bad input gets an error, the socket stays usable ---------------------------

SOME_ID = str(uuid.uuid4())
TOO_LARGE = json.dumps({"type": "ping", "pad": "x" * (protocol.MAX_FRAME_BYTES + 1)})
DEEP_LIST = "[" * 30_000 + "]" * 30_000  # under 64 KB, deeper than the JSON decoder recurses


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed"),
        (DEEP_LIST, "malformed"),
        ("[1, 2, 3]", "malformed"),
        ('"ping"', "malformed"),
        ("null", "malformed"),
        ('{"type": "no.such.type"}', "unknown_type"),
        ('{"type": 7}', "unknown_type"),
        ('{"notype": true}', "unknown_type"),
        ('{"type": "ping", "extra": 1}', "invalid_message"),
        ('{"type": "presence.set", "available": [true]}', "invalid_message"),
        ('{"type": "call.invite", "to": "not-a-uuid", "mode": "video", "seconds": 300}', "invalid_message"),
        (json.dumps({"type": "call.invite", "to": SOME_ID, "mode": "video", "seconds": "300"}), "invalid_message"),
        (json.dumps({"type": "call.invite", "to": SOME_ID, "mode": "audio", "seconds": 300}), "invalid_message"),
        (json.dumps({"type": "chat.message", "room": SOME_ID, "client_id": 5}), "invalid_message"),
        ('{"type": "ping", "id": ""}', "invalid_message"),
        ('{"type": "ping", "id": "a\\u0000b"}', "invalid_message"),
        (TOO_LARGE, "too_large"),
    ],
    ids=[
        "malformed-json",
        "too-deep-json",
        "json-array",
        "json-string",
        "json-null",
        "unknown-type",
        "type-not-a-string",
        "no-type",
        "unknown-extra-field",
        "bool-field-as-list",
        "uuid-field-not-a-uuid",
        "int-field-as-string",
        "literal-field-out-of-set",
        "string-field-as-int",
        "empty-request-id",
        "nul-in-a-string",
        "frame-over-64kb",
    ],
)
async def test_bad_message_gets_error_and_socket_stays_usable(ws, alice, frame, code):
    socket = await ws.connect(alice)
    await socket.send_to(text_data=frame)

    reply = await socket.receive_until("error")

    assert reply["code"] == code
    assert reply["message"]
    assert await socket.is_open()


async def test_error_reply_carries_the_request_id_when_there_is_one(ws, alice):
    socket = await ws.connect(alice)

    reply = await socket.refused({"type": "ping", "id": "req-7", "bogus": True}, "invalid_message")

    assert reply["id"] == "req-7"


async def test_binary_frame_gets_malformed_and_socket_stays_usable(ws, alice):
    socket = await ws.connect(alice)
    await socket.send_to(bytes_data=b'{"type": "ping"}')

    reply = await socket.receive_until("error")

    assert reply["code"] == "malformed"
    assert await socket.is_open()


async def test_empty_text_frame_gets_malformed(ws, alice):
    socket = await ws.connect(alice)
    await socket.send_input({"type": "websocket.receive", "text": ""})

    reply = await socket.receive_until("error")

    assert reply["code"] == "malformed"
    assert await socket.is_open()


async def test_second_auth_on_a_socket_is_refused_not_closed(ws, alice):
    socket = await ws.connect(alice)

    await socket.refused({"type": "auth", "token": await ws.token_for(alice)}, "already_authenticated")

    assert await socket.is_open()


async def test_ping_is_acked_with_its_id(ws, alice):
    socket = await ws.connect(alice)

    reply = await socket.ok({"type": "ping", "id": "p-1"})

    assert reply == {"type": "ack", "id": "p-1", "for": "ping"}


async def test_room_message_for_made_up_room_gets_not_a_member(ws, alice):
    socket = await ws.connect(alice)
    room = str(uuid.uuid4())

    for message in (
        {"type": "chat.message", "room": room, "client_id": "c1", "text": "hi"},
        {"type": "rtc.offer", "room": room, "sdp": "v=0"},
        {"type": "room.end", "room": room},
    ):
        await socket.refused(message, "not_a_member")
    assert await socket.is_open()


# --- property: whatever arrives, one ack or error, never a close ----------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def field_values(known_ids: list[str]) -> dict:
    """Per field name, values that are mostly of the right shape (so messages get past the
    schema and reach the services) and sometimes not."""
    ids = st.sampled_from(known_ids) | st.uuids().map(str)
    return {
        "id": st.text(min_size=1, max_size=12) | json_values,
        "token": st.text(max_size=130),
        "since": st.integers(min_value=-1, max_value=2**62),
        "available": st.booleans(),
        "state": st.sampled_from(["reel", "browsing", "away"]) | st.text(max_size=10),
        "visible": st.booleans(),
        "active": st.booleans(),
        "modes": st.lists(st.sampled_from(["video", "text"]), min_size=1, max_size=2),
        "to": ids,
        "invite": ids,
        "room": ids,
        "mode": st.sampled_from(["video", "text"]),
        "seconds": st.integers(min_value=0, max_value=2000),
        "sdp": st.text(max_size=50),
        "candidate": st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=3),
        "client_id": st.text(min_size=1, max_size=70),
        "text": st.text(max_size=600),
        "gif_url": st.sampled_from(["", "https://media.giphy.com/a.gif", "http://media.giphy.com/a.gif"])
        | st.text(max_size=30),
    }


def message_strategy(known_ids: list[str]):
    values = field_values(known_ids)
    per_type = []
    for kind, model in sorted(protocol.TYPES.items()):
        fields = {name: values[name] for name in model.model_fields if name != "type"}
        required = {
            name: fields[name] for name, info in model.model_fields.items() if info.is_required() and name in fields
        }
        optional = {name: strategy for name, strategy in fields.items() if name not in required}
        well_formed = st.fixed_dictionaries({"type": st.just(kind), **required}, optional=optional)
        junk = st.dictionaries(st.text(min_size=1, max_size=8) | st.sampled_from(sorted(values)), json_values)
        with_junk = st.builds(lambda message, extra: {**extra, **message}, well_formed, junk)
        per_type.append(well_formed | with_junk)
    return st.one_of(*per_type) | st.one_of(*per_type) | json_values


# The consumers run on the event loop while Hypothesis draws in its thread, and channels_redis
# uses the `random` module, which Hypothesis notices and warns about; draws stay derandomized.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
async def test_any_json_gets_one_ack_or_error_and_never_closes_the_socket(ws, alice, bob):
    """Hypothesis drives the socket from a worker thread (its engine is synchronous); each
    payload is sent on the test's event loop and must be answered by one ack or error
    before the next goes out. The socket never closes and never reports server_error (an
    unhandled exception: a traceback in the log)."""
    socket = await ws.connect(alice, available=True)
    await ws.connect(bob, available=True)  # invites to bob can succeed
    loop = asyncio.get_running_loop()
    answers: list[tuple] = []

    async def exchange(frame: str) -> dict:
        await socket.send_to(text_data=frame)
        return await socket.receive_until(("ack", "error"))

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(message_strategy([str(alice.pk), str(bob.pk)]))
    def answers_each(payload):
        frame = json.dumps(payload)
        reply = asyncio.run_coroutine_threadsafe(exchange(frame), loop).result(timeout=10)
        answers.append((payload, reply))
        assert reply["type"] in ("ack", "error"), reply
        if reply["type"] == "error":
            assert isinstance(reply["code"], str) and reply["code"], reply
            assert reply["code"] != "server_error", (payload, reply)

    await asyncio.wait_for(asyncio.to_thread(answers_each), timeout=60)

    assert len(answers) >= 150
    assert socket.closed is None
    assert await socket.is_open()
    leftovers = await socket.collect()
    assert [m for m in leftovers if m.get("type") in ("ack", "error", "closing")] == []


@pytest.mark.parametrize(
    ("field", "limit"),
    [("text", TextChatMessage.MAX_LENGTH), ("gif_url", TextChatMessage.MAX_URL_LENGTH)],
)
def test_chat_message_frame_limits_are_the_stored_columns_limits(field, limit):
    """The frame check and the column share one number (TextChatMessage), so they cannot drift."""
    frame = {"type": "chat.message", "room": SOME_ID, "client_id": "c1"}
    assert getattr(protocol.parse({**frame, field: "x" * limit}), field) == "x" * limit
    with pytest.raises(protocol.ProtocolError):
        protocol.parse({**frame, field: "x" * (limit + 1)})
