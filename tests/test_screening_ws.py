"""Screening over the WebSocket: a blocked message is an error reply (the socket stays open),
a censored one reaches the partner masked and marked `screened`."""

import pytest

from screening import rules
from tests.ws_helpers import allow_next_message, messages_of, start_room

pytestmark = pytest.mark.django_db(transaction=True)


def chat(room, client_id, text) -> dict:
    return {"type": "chat.message", "room": room, "client_id": client_id, "text": text}


@pytest.fixture(autouse=True)
def _fresh_rules():
    rules.invalidate_rules()
    yield
    rules.invalidate_rules()


async def test_blocked_message_is_refused_message_blocked_and_the_socket_stays_open(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    reply = await a.refused(chat(room, "c1", "you r3t4rd"), "message_blocked")
    assert "Please rephrase it" in reply["message"]
    assert await messages_of(room) == []
    await a.ping()
    await b.assert_no_event("chat.message")


async def test_censored_message_reaches_the_partner_masked_and_marked(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob, mode="text")
    await allow_next_message(room)
    sent = await a.ok(chat(room, "c2", "call me 213-555-0147"))
    delivered = await b.receive_until("chat.message", message_id=sent["message_id"])
    assert "0147" not in delivered["text"] and delivered["screened"] == "censor"
