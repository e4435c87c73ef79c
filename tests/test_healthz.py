"""GET /healthz reports PostgreSQL, Redis and migrations; 503 names the failing part. Each check is
bounded by HEALTH_CHECK_TIMEOUT_SECONDS (503, never a hang), and the migrations are read once per
process and the applied ones again only after HEALTH_MIGRATIONS_CACHE_SECONDS. Anyone sees ok or
error per part; why it fails goes to the log and to operators (METRICS_TOKEN): the `client` here
is an operator's, `anonymous` anyone's."""

import contextlib
import time

import pytest
from django.db import connection
from django.test import Client

from config import health

OPERATOR_TOKEN = "operator-token-for-tests"


@pytest.fixture
def client(settings):
    settings.METRICS_TOKEN = OPERATOR_TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {OPERATOR_TOKEN}")


@pytest.fixture
def anonymous(settings):
    settings.METRICS_TOKEN = OPERATOR_TOKEN
    return Client()


@pytest.mark.django_db
def test_healthz_is_200_when_database_redis_and_migrations_are_fine(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "migrations": "applied", "persistence": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_and_names_redis_when_redis_is_unreachable(client, settings):
    # The real cache backend pointed at a port nothing listens on (setting_changed rebuilds caches).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"].startswith("error:")
    assert body["migrations"] == "applied"


@pytest.fixture
def fresh_process():
    """/healthz as a newly started process sees it: no migration answer, no health connection."""
    health.forget_process_state()
    yield
    health.forget_process_state()


@pytest.fixture
def unapplied_migration(transactional_db):
    """The latest chat migration's row taken out of django_migrations (committed, so the health
    connection sees it), and put back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, app, name, applied FROM django_migrations WHERE app = 'chat' ORDER BY name DESC LIMIT 1"
        )
        row = cursor.fetchone()
        cursor.execute("DELETE FROM django_migrations WHERE id = %s", [row[0]])
    yield f"{row[1]}.{row[2]}"
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO django_migrations (id, app, name, applied) VALUES (%s, %s, %s, %s)", row)


def test_healthz_is_503_and_names_a_migration_that_is_not_applied(client, fresh_process, unapplied_migration):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["migrations"] == f"error: RuntimeError: 1 unapplied: {unapplied_migration}"
    assert response.json()["database"] == "ok"


def test_healthz_reuses_its_migration_answer_and_a_restart_reports_a_missing_migration(
    client, fresh_process, transactional_db, request
):
    assert client.get("/healthz").json()["migrations"] == "applied"  # read once, at the first check
    missing = request.getfixturevalue("unapplied_migration")  # taken out after the process looked
    assert client.get("/healthz").status_code == 200  # the process reuses its answer

    health.forget_process_state()  # a restart: a new process reads the migrations again
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["migrations"] == f"error: RuntimeError: 1 unapplied: {missing}"


def test_healthz_looks_at_the_applied_migrations_again_after_their_cache_time(
    client, fresh_process, transactional_db, settings, request
):
    settings.HEALTH_MIGRATIONS_CACHE_SECONDS = 0
    assert client.get("/healthz").status_code == 200
    missing = request.getfixturevalue("unapplied_migration")
    assert client.get("/healthz").json()["migrations"] == f"error: RuntimeError: 1 unapplied: {missing}"


def test_healthz_reads_the_migrations_on_disk_once_per_process(client, fresh_process, db):
    client.get("/healthz")
    client.get("/healthz")
    assert health.migrations_on_disk.cache_info().misses == 1


def test_healthz_answers_503_within_its_timeout_when_the_database_does_not_answer(
    client, fresh_process, db, settings, monkeypatch, black_hole
):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    params = {"host": "127.0.0.1", "port": black_hole, "dbname": "x", "user": "x", "connect_timeout": 2}
    monkeypatch.setattr(health, "connection_params", lambda: params)
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert response.json()["database"] == "error: CheckTimeout: no answer within 0.5 s"

    started = time.monotonic()  # the first check is still stuck: the next one does not queue behind it
    response = client.get("/healthz")
    assert time.monotonic() - started < 0.5
    assert response.status_code == 503
    assert response.json()["database"] == "error: CheckTimeout: the previous check is still waiting for the database"
    with contextlib.suppress(Exception):
        health._db_pending.result(timeout=10)  # libpq's connect timeout ends it


@pytest.mark.django_db
def test_healthz_answers_503_within_its_timeout_when_redis_does_not_answer(client, settings, black_hole):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{black_hole}/0",
        }
    }
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error: TimeoutError")
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_tells_anyone_only_ok_or_error_and_logs_why(anonymous, settings, black_hole, caplog):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{black_hole}/0",
        }
    }
    response = anonymous.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "error", "migrations": "applied"}
    assert "TimeoutError" not in response.content.decode() and str(black_hole) not in response.content.decode()
    logged = [r for r in caplog.records if getattr(r, "event", None) == "healthz.failing"]
    assert len(logged) == 1 and "TimeoutError" in logged[0].getMessage()


def test_healthz_tells_anyone_error_not_which_migration(anonymous, fresh_process, unapplied_migration):
    response = anonymous.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "ok", "migrations": "error"}


@pytest.mark.django_db
def test_a_wrong_operator_token_sees_what_anyone_sees(anonymous, settings, black_hole):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{black_hole}/0",
        }
    }
    assert anonymous.get("/healthz", HTTP_AUTHORIZATION="Bearer nope").json()["redis"] == "error"
