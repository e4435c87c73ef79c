"""Per-socket budgets per frame type (chat.frame_budget): the web client's own pace never
reaches them; a flood is refused with `rate_limited` (nothing relayed, nothing read), a socket
that keeps going is closed 4008; an oversized ICE candidate is refused; and a ping costs no
database round trip unless the session check is due."""

import time

import pytest

from chat import consumers, frame_budget
from chat.frame_budget import FrameBudgets
from tests.ws_helpers import start_room


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_web_clients_pace_for_an_hour_is_never_refused():
    """static/rdv/app.js: a ping every 20 s, typing at most every 3 s, a message every 1.5 s
    (the rooms' rule), and each call (every 5 minutes) an offer, an answer and 40 ICE candidates."""
    clock = FakeClock()
    budgets = FrameBudgets(clock)
    refused = []
    for tenth in range(36_000):  # an hour in tenths of a second
        clock.now = 1000.0 + tenth / 10
        due = []
        if tenth % 200 == 0:
            due.append("ping")
        if tenth % 30 == 0:
            due.append("chat.typing")
        if tenth % 15 == 0:
            due.append("chat.message")
        if tenth % 3000 == 0:
            due += ["presence.set", "call.invite", "rtc.offer", "rtc.answer"] + ["rtc.ice"] * 40
        for kind in due:
            if budgets.refused(None) is not None or budgets.refused(kind) is not None:
                refused.append((tenth, kind))
    assert refused == []


def test_a_flood_of_one_type_gets_its_burst_then_its_rate():
    clock = FakeClock()
    budgets = FrameBudgets(clock)
    accepted = 0
    for n in range(2000):  # the audit's 2,000 typing frames in 15 s
        clock.now = 1000.0 + n * 15 / 2000
        accepted += budgets.refused("chat.typing") is None
    typing = frame_budget.BUDGETS["chat.typing"]
    assert accepted <= typing.burst + 15 * typing.per_second + 1


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("chat.typing", {}), ("rtc.ice", {"candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"}})],
)
async def test_relays_past_the_budget_are_refused_not_relayed_and_a_socket_that_keeps_going_is_closed(
    ws, alice, bob, kind, payload
):
    a, b, room = await start_room(ws, alice, bob)
    budget = frame_budget.BUDGETS[kind]
    started = time.monotonic()
    for n in range(budget.burst + frame_budget.REFUSALS.burst + 200):  # faster than any refill
        await a.send_json_to({"type": kind, "room": room, "id": f"f{n}", **payload})

    code, reason, before = await a.expect_close()
    elapsed = time.monotonic() - started
    relayed = [m for m in await b.collect(timeout=1.0, ignore=()) if m["type"] == kind]

    refusals = [m for m in before if m.get("code") == "rate_limited"]
    assert (code, reason) == (4008, "rate_limited")
    assert before[-1] == {"type": "closing", "code": 4008, "reason": "rate_limited"}
    assert frame_budget.REFUSALS.burst <= len(refusals) <= frame_budget.REFUSALS.burst + 1 + elapsed / 5
    assert all(m["type"] == "error" and m["retry_after"] >= 1 for m in refusals)
    assert budget.burst <= len(relayed) <= budget.burst + budget.per_second * elapsed + 1
    assert await b.is_open()


async def test_a_refused_frame_leaves_the_socket_usable_until_it_keeps_going(ws, alice, bob):
    a, _b, room = await start_room(ws, alice, bob)
    for n in range(frame_budget.BUDGETS["chat.typing"].burst):
        await a.send({"type": "chat.typing", "room": room, "id": f"t{n}"})

    refused = await a.refused({"type": "chat.typing", "room": room}, "rate_limited")

    assert refused["retry_after"] == 1
    assert await a.is_open()  # other types have their own budgets


async def test_an_ice_candidate_over_4_kb_is_refused_and_not_relayed(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob)
    big = {"candidate": "candidate:" + "x" * 60_000}

    await a.refused({"type": "rtc.ice", "room": room, "candidate": big}, "invalid_message")

    await b.assert_no_event("rtc.ice")


@pytest.fixture
def session_checks(monkeypatch):
    calls = []
    real = consumers.session_still_valid

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(consumers, "session_still_valid", counted)
    return calls


async def test_pings_cost_no_database_round_trip_until_the_session_check_is_due(ws, alice, session_checks, monkeypatch):
    socket = await ws.connect(alice)
    for _ in range(8):
        await socket.ping()
    assert session_checks == []  # signed in just now: the next check is due in 15 s

    monkeypatch.setattr(consumers, "SESSION_RECHECK_SECONDS", 0)  # as if 15 s had passed
    await socket.ping()

    assert len(session_checks) == 1
