"""Shared pytest fixtures: the cast (alice, bob, stranger, moderator) and a clean Redis."""

import socket

import pytest
from django.core.cache import cache

from tests.factories import UserFactory


@pytest.fixture(scope="session", autouse=True)
def _healthz_connection_closed(django_db_setup, django_db_blocker):
    """/healthz keeps a database connection of its own per process (config/health.py): closed
    before the test database is dropped."""
    yield
    from config import health

    with django_db_blocker.unblock():
        health.close_connection()


@pytest.fixture
def black_hole():
    """A TCP port that accepts connections (the kernel's backlog) but never answers a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis database (the test database index only)."""
    cache.clear()
    yield


@pytest.fixture
def alice(db):
    return UserFactory(name="Alice")


@pytest.fixture
def bob(db):
    return UserFactory(name="Bob")


@pytest.fixture
def stranger(db):
    return UserFactory(name="Stranger")


@pytest.fixture
def moderator(db):
    from moderation.roles import ensure_moderators_group

    user = UserFactory(name="Mod", staff=True)
    # The data migration made the group; a flush by an earlier transactional test removes it.
    user.groups.add(ensure_moderators_group())
    return user
