"""`presence.state` over /ws/: the ack says whether the person is available and until when,
and the invite refusal sees a lapse the moment it passes (chat/presence_state.py). Time is
moved by writing the stored report back in time, never slept through."""

import time

import pytest

from chat import presence_state
from tests.ws_helpers import run

pytestmark = pytest.mark.django_db(transaction=True)


def invite(to) -> dict:
    return {"type": "call.invite", "to": str(to.pk), "mode": "video", "seconds": 300}


async def test_presence_state_ack_says_available_and_when_browsing_lapses(ws, alice):
    a = await ws.connect(alice, available=True)

    ack = await a.ok({"type": "presence.state", "state": "browsing", "visible": True, "active": True})

    assert ack["state"] == "browsing"
    assert ack["available"] is True
    assert ack["lapses_at"] is not None


async def test_presence_state_on_the_reel_shown_has_no_lapse(ws, alice):
    a = await ws.connect(alice, available=True)

    ack = await a.ok({"type": "presence.state", "state": "reel"})

    assert ack["available"] is True
    assert ack["lapses_at"] is None


async def test_invite_to_a_person_browsing_after_5_idle_minutes_is_refused_not_available(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    b = await ws.connect(bob, available=True)
    await b.ok({"type": "presence.state", "state": "browsing", "active": True})
    await a.ok(invite(bob))  # browsing and active: invitable

    await run(presence_state.report)(
        bob.pk, state="browsing", visible=True, active=True, discoverable=True, now=time.time() - 301
    )

    await a.refused(invite(bob), "not_available")


async def test_invite_to_a_person_whose_pages_are_hidden_for_60_seconds_is_refused(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    await ws.connect(bob, available=True)

    await run(presence_state.report)(
        bob.pk, state="browsing", visible=False, active=True, discoverable=True, now=time.time() - 61
    )

    await a.refused(invite(bob), "not_available")


async def test_invite_to_a_person_browsing_with_the_switch_off_is_refused(ws, alice, bob):
    bob.discoverable_while_browsing = False
    await run(bob.save)(update_fields=["discoverable_while_browsing"])
    a = await ws.connect(alice, available=True)
    b = await ws.connect(bob, available=True)

    ack = await b.ok({"type": "presence.state", "state": "browsing", "active": True})

    assert ack["available"] is False
    await a.refused(invite(bob), "not_available")


async def test_presence_state_with_an_unknown_state_is_refused_invalid_message(ws, alice):
    a = await ws.connect(alice, available=True)

    await a.refused({"type": "presence.state", "state": "asleep"}, "invalid_message")
