"""GET /healthz on the ASGI process is answered before Django (config/health_asgi.py), from the
checks a keeper thread runs every HEALTH_REFRESH_SECONDS, with the view's body, status and
headers, the result's age in `Age`; a result older than HEALTH_REFRESH_SECONDS +
HEALTH_CHECK_TIMEOUT_SECONDS is never served (503), so a dead Redis or PostgreSQL shows within
that bound. Two probes at once share the database check that is running instead of one being
refused."""

import asyncio
import json
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from config import health, health_asgi
from config.health_asgi import STALE, HealthFirst, Result, keeper
from tests.metrics_support import TOKEN, scrape, value

OK = {"database": "ok", "redis": "ok", "migrations": "applied", "persistence": "ok"}


@pytest.fixture(autouse=True)
def fresh_keeper():
    keeper.stop()
    health.forget_process_state()
    yield
    keeper.stop()
    health.forget_process_state()


class Behind:
    """The rest of the ASGI stack: records what reached it."""

    def __init__(self):
        self.reached = []

    async def __call__(self, scope, receive, send):
        self.reached.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 405, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def call(app, method="GET", path="/healthz", headers=(), query=b""):
    """One request through `app`: (status, headers dict, body bytes)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


@pytest.mark.django_db
def test_healthz_is_answered_before_django_with_the_views_body_and_headers():
    behind = Behind()
    status, headers, body = call(HealthFirst(behind), headers=[("X-Request-ID", "probe-12345678")])
    assert status == 200
    assert json.loads(body) == OK
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-request-id"] == b"probe-12345678"
    assert headers[b"age"] == b"0"
    assert b"no-store" in headers[b"cache-control"]
    assert behind.reached == []


@pytest.mark.django_db
def test_other_methods_and_paths_go_on_to_django():
    behind = Behind()
    app = HealthFirst(behind)
    call(app, method="POST")
    call(app, method="HEAD")
    call(app, path="/healthz/")
    assert behind.reached == [("POST", "/healthz"), ("HEAD", "/healthz"), ("GET", "/healthz/")]


@pytest.mark.django_db
def test_the_answer_is_the_keepers_latest_result_with_its_age(settings):
    settings.HEALTH_REFRESH_SECONDS = 60  # the keeper will not run again during the test
    call(HealthFirst(Behind()))  # starts the keeper, whose first result is the answer
    keeper.latest = Result(True, {**OK, "persistence": "violation: x=1"}, time.monotonic() - 3)
    status, headers, body = call(HealthFirst(Behind()))
    assert status == 200
    assert json.loads(body)["persistence"] == "violation"
    assert headers[b"age"] == b"3"


@pytest.mark.django_db
def test_a_result_older_than_refresh_plus_timeout_is_a_503(settings):
    settings.HEALTH_REFRESH_SECONDS, settings.HEALTH_CHECK_TIMEOUT_SECONDS = 60, 2
    settings.METRICS_TOKEN = TOKEN
    call(HealthFirst(Behind()))
    while keeper.latest is None:  # the keeper's first check (then it sleeps 60 s): not to overwrite ours
        time.sleep(0.01)
    keeper.latest = Result(True, OK, time.monotonic() - 63)
    status, _, body = call(HealthFirst(Behind()))
    assert status == 503
    assert json.loads(body) == {"database": "error", "redis": "error", "migrations": "error"}
    _, _, body = call(HealthFirst(Behind()), headers=[("Authorization", f"Bearer {TOKEN}")])
    assert json.loads(body)["database"] == STALE


@pytest.mark.django_db
def test_a_dead_redis_shows_as_503_within_refresh_plus_timeout(settings, black_hole):
    settings.HEALTH_REFRESH_SECONDS, settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.2, 0.5
    assert call(HealthFirst(Behind()))[0] == 200
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{black_hole}/0",
        }
    }
    died = time.monotonic()
    # Until then an answer may still be 200, or a 503 for a stale result (a check that began
    # before Redis died may finish late on a loaded machine, and say ok): what must come within
    # the bound is the 503 that names Redis.
    while True:
        status, _, body = call(HealthFirst(Behind()))
        if status == 503 and json.loads(body)["redis"] == "error":
            break
        assert time.monotonic() - died < 0.2 + 0.5 + 0.5, "no 503 naming redis within the stated bound"
        time.sleep(0.05)


@pytest.mark.django_db
def test_a_healthz_answered_first_is_counted_in_the_request_metrics(settings):
    settings.METRICS_TOKEN = TOKEN
    before = scrape()
    call(HealthFirst(Behind()))
    call(HealthFirst(Behind()))
    after = scrape()
    key = {"view": "healthz", "method": "GET", "status": "200"}
    assert value(after, "rdv_http_requests_total", **key) - value(before, "rdv_http_requests_total", **key) == 2


@pytest.mark.django_db
def test_two_probes_at_once_share_the_running_database_check(monkeypatch):
    checks = []
    real = health._database_and_migrations

    def slow_check():
        checks.append(1)
        time.sleep(0.3)
        return real()

    monkeypatch.setattr(health, "_database_and_migrations", slow_check)
    answers = []

    def probe():
        answers.append(health.run_checks())

    probes = [threading.Thread(target=probe) for _ in range(2)]
    for thread in probes:
        thread.start()
        time.sleep(0.05)  # the second arrives while the first's check runs
    for thread in probes:
        thread.join(5)
    assert [ok for ok, _ in answers] == [True, True], answers
    assert len(checks) == 1


@pytest.mark.django_db
def test_the_keeper_is_one_thread_per_process(settings):
    settings.HEALTH_REFRESH_SECONDS = 60
    keeper.ensure_started()
    keeper.ensure_started()
    assert sum(t.name == "healthz-keeper" for t in threading.enumerate()) == 1
    assert health_asgi.keeper is keeper


@pytest.mark.django_db(transaction=True)
def test_the_keeper_gives_back_the_database_connections_it_used(settings):
    settings.HEALTH_REFRESH_SECONDS = 60

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = backends()
    cache.clear()  # the persistence summary is then computed on the keeper's thread, with the ORM
    keeper.ensure_started()
    deadline = time.monotonic() + 10
    while keeper.latest is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert keeper.latest is not None and keeper.latest.report["persistence"] == "ok"
    keeper.stop()
    health.close_connection()  # the check's own connection (one per process, by design)
    # A connection another test's thread still holds may close a moment later; one the keeper
    # kept would stay.
    settle = time.monotonic() + 3
    while backends() > before and time.monotonic() < settle:
        time.sleep(0.1)
    assert backends() <= before
