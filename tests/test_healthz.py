"""GET /healthz reports PostgreSQL, Redis and migrations; 503 names the failing part."""

import pytest

from config import health


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


@pytest.mark.django_db
def test_healthz_is_503_and_names_migrations_when_one_is_unapplied(client, monkeypatch):
    class FakePlan:
        app_label, name = "chat", "9999_future"

    monkeypatch.setattr(health.MigrationExecutor, "migration_plan", lambda self, targets: [(FakePlan(), False)])
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "error: RuntimeError: 1 unapplied: chat.9999_future"


@pytest.mark.django_db
def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
