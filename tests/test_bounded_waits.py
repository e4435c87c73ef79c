"""Bounded waits and restarts the people in a call do not notice: a WebSocket database call past
DB_CALL_TIMEOUT is `service_unavailable` (a call still queued never runs), an HTTP answer past
HTTP_DEADLINE_SECONDS is our JSON 503 with Retry-After (a request still queued never runs), a
server restart (close code 1012) starts no grace, and recover_rooms gives a grace that was
running its full length again from the restart. tests/test_faults.py does the same against
real frozen servers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat.models import ActiveRoom
from config import db_threads
from config.deadline import ResponseDeadline
from config.errors import ServiceUnavailable
from tests.factories import ActiveRoomFactory
from tests.ws_helpers import get_room, start_room


async def test_a_database_call_past_db_call_timeout_is_service_unavailable_and_a_queued_one_never_runs(settings):
    settings.DB_CALL_TIMEOUT = 0.3
    release = threading.Event()
    ran = []

    def stuck():
        release.wait(10)

    def queued():
        ran.append(True)

    # Every database thread held (a frozen PostgreSQL), then one more call waiting for a thread.
    holders = [asyncio.ensure_future(db_threads.db_call(stuck)) for _ in range(db_threads.size())]
    await asyncio.sleep(0.1)  # each holder on its thread
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        await db_threads.db_call(queued)
    assert time.monotonic() - started < 2
    assert (caught.value.code, caught.value.status, caught.value.extra["retry_after"]) == (
        "service_unavailable",
        503,
        settings.SERVICE_UNAVAILABLE_RETRY_AFTER,
    )
    release.set()
    await asyncio.gather(*holders, return_exceptions=True)
    await asyncio.sleep(0.2)
    assert ran == [], "a call answered service_unavailable ran afterwards"


async def _call_app(app, path="/api/me"):
    sent = []
    body_sent = False

    async def receive():
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    await app(scope, receive, send)
    return sent


async def test_an_http_answer_past_the_deadline_is_a_json_503_with_retry_after_and_the_request_is_dropped(settings):
    finished = []

    async def stalled_app(scope, receive, send):
        await receive()
        await asyncio.sleep(5)  # a view waiting on a frozen database
        finished.append(True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    started = time.monotonic()
    sent = await _call_app(ResponseDeadline(stalled_app, seconds=0.3))
    assert time.monotonic() - started < 1.5
    start, body = sent
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"retry-after"] == str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER).encode()
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body["body"])["error"]["code"] == "service_unavailable"
    await asyncio.sleep(0.2)
    assert finished == [] and len(sent) == 2, "the late answer was not dropped"


async def test_an_answer_within_the_deadline_is_untouched():
    async def quick_app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = await _call_app(ResponseDeadline(quick_app, seconds=0.5))
    assert [m.get("status") for m in sent] == [201, None] and sent[1]["body"] == b"ok"


async def test_a_server_restart_closing_the_sockets_with_1012_starts_no_grace(ws, alice, bob):
    a, b, room = await start_room(ws, alice, bob)
    ws.opened.remove(b)
    await b.disconnect(code=1012, timeout=5)  # uvicorn's close of every socket on SIGTERM

    await a.assert_no_event("room.partner_disconnected")
    stored = await get_room(room)
    assert stored.status == ActiveRoom.Status.ACTIVE and stored.grace_period_expires is None


@pytest.mark.django_db
def test_recover_rooms_gives_a_grace_that_ran_out_while_no_server_was_up_its_full_length_from_now(alice, bob):
    started = timezone.now() - timedelta(seconds=60)
    room = ActiveRoomFactory(
        user_1=alice,
        user_2=bob,
        started_at=started,
        ends_at=started + timedelta(seconds=300),
        status=ActiveRoom.Status.GRACE_PERIOD,
        grace_period_expires=timezone.now() - timedelta(seconds=20),
        user_2_connected=False,
    )

    call_command("recover_rooms")

    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.GRACE_PERIOD
    left = (room.grace_period_expires - timezone.now()).total_seconds()
    assert ActiveRoom.GRACE.total_seconds() - 2 < left <= ActiveRoom.GRACE.total_seconds()
