"""GET /metrics (docs/observability.md): the token guards it, and each family moves after the
action it counts — a call cycle moves the call counters by exactly one. (The test process has
no PROMETHEUS_MULTIPROC_DIR: its own registry; test_metrics_live.py covers several processes.)"""

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client

from chat import tasks
from tests.metrics_support import TOKEN, parse, scrape, value
from tests.ws_helpers import run, start_room


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


# --- the token ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_without_a_token_is_401_in_the_json_error_shape():
    answer = Client().get("/metrics")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert b"rdv_" not in answer.content


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer " + TOKEN + "x", "Basic " + TOKEN])
def test_metrics_with_a_wrong_token_is_refused(header):
    answer = Client().get("/metrics", HTTP_AUTHORIZATION=header)
    assert answer.status_code in (401, 403)
    assert "error" in answer.json()
    assert b"rdv_" not in answer.content


@pytest.mark.django_db
def test_metrics_are_off_when_no_token_is_configured(settings):
    settings.METRICS_TOKEN = ""
    answer = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.django_db
def test_metrics_with_the_token_as_bearer_or_query():
    by_header = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    by_query = Client().get("/metrics", {"token": TOKEN})
    assert by_header.status_code == by_query.status_code == 200
    assert by_header["Content-Type"].startswith("text/plain")
    assert "rdv_rooms_live" in by_query.content.decode()


# --- HTTP -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_http_requests_are_counted_by_view_and_status():
    before = scrape()
    client = Client()
    client.get("/healthz")
    client.get("/healthz")
    client.get("/api/me")  # no token: 401
    after = scrape()
    key = {"view": "healthz", "method": "GET", "status": "200"}
    assert value(after, "rdv_http_requests_total", **key) - value(before, "rdv_http_requests_total", **key) == 2
    key = {"view": "me", "method": "GET", "status": "401"}
    assert value(after, "rdv_http_requests_total", **key) - value(before, "rdv_http_requests_total", **key) == 1
    count = "rdv_http_request_duration_seconds_count"
    assert value(after, count, view="healthz") - value(before, count, view="healthz") == 2


# --- WebSocket and the hot operations ---------------------------------------------------------


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


async def test_a_call_cycle_moves_each_call_counter_by_exactly_one(ws, alice, bob):
    before = await run(scrape)()
    a, b, room = await start_room(ws, alice, bob, mode="text")
    during = await run(scrape)()
    await a.ok({"type": "chat.message", "room": room, "client_id": "m1", "text": "hi"})
    await a.ok({"type": "room.end", "room": room})
    await b.receive_until("room.ended")
    after = await run(scrape)()

    ops = "rdv_operations_total"
    assert delta(before, after, ops, operation="auth", outcome="ok") == 2  # two sockets signed in
    for operation in ("invite", "accept", "message", "end"):
        assert delta(before, after, ops, operation=operation, outcome="ok") == 1, operation
        count = "rdv_operation_duration_seconds_count"
        assert delta(before, after, count, operation=operation) == 1, operation
    assert delta(before, after, "rdv_ws_messages_in_total", type="call.invite", outcome="ok") == 1
    assert delta(before, after, "rdv_ws_messages_out_total", type="room.start") == 2
    assert delta(before, after, "rdv_ws_messages_out_total", type="call.incoming") == 1
    assert delta(before, after, "rdv_ws_connections_total") == 2
    assert delta(before, during, "rdv_ws_connections_open") == 2
    # Scrape-time gauges, from PostgreSQL and Redis.
    assert value(during, "rdv_rooms_live") == 1
    assert value(after, "rdv_rooms_live") == 0
    assert value(during, "rdv_users_online") == 2
    assert value(during, "rdv_db_connections", state="active") >= 1
    assert value(during, "rdv_scrape_errors", source="database") == 0
    assert value(during, "rdv_scrape_errors", source="redis") == 0

    await ws.disconnect(a)
    await ws.disconnect(b)
    closed = await run(scrape)()
    assert delta(during, closed, "rdv_ws_connections_open") == -2
    assert (
        sum(v for (name, _), v in closed.items() if name == "rdv_ws_closes_total")
        - sum(v for (name, _), v in before.items() if name == "rdv_ws_closes_total")
        == 2
    )


async def test_a_refused_and_an_unknown_frame_are_counted_as_refused(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    before = await run(scrape)()
    await a.refused(
        {"type": "chat.message", "room": "00000000-0000-0000-0000-000000000000", "client_id": "x", "text": "hi"},
        "not_a_member",
    )
    await a.send({"type": "no.such.type"})
    await a.receive_until("error")
    after = await run(scrape)()
    assert delta(before, after, "rdv_operations_total", operation="message", outcome="refused") == 1
    assert delta(before, after, "rdv_operations_total", operation="message", outcome="ok") == 0
    assert delta(before, after, "rdv_ws_messages_in_total", type="invalid", outcome="refused") == 1
    assert delta(before, after, "rdv_ws_messages_out_total", type="error") == 2


async def test_an_invite_pending_is_a_live_gauge(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    await ws.connect(bob, available=True)
    before = await run(scrape)()
    await a.ok({"type": "call.invite", "to": str(bob.pk), "mode": "video", "seconds": 300})
    after = await run(scrape)()
    assert value(before, "rdv_invites_pending") == 0
    assert value(after, "rdv_invites_pending") == 1


# --- Celery -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_celery_task_runs_and_queue_depth():
    before = scrape()
    tasks.sweep_invites.apply()
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.lpush("celery", b"{}", b"{}")
    try:
        after = scrape()
    finally:
        broker.delete("celery")
    name = tasks.sweep_invites.name
    assert delta(before, after, "rdv_celery_tasks_total", task=name, outcome="ok") == 1
    assert delta(before, after, "rdv_celery_task_duration_seconds_count", task=name) == 1
    assert value(after, "rdv_celery_queue_depth") == 2


def test_parse_reads_the_exposition_format():
    samples = parse('# HELP rdv_x_total x\n# TYPE rdv_x_total counter\nrdv_x_total{a="1"} 3.0\n')
    assert value(samples, "rdv_x_total", a=1) == 3.0
