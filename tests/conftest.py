"""Fixtures shared by the tests in this folder (the cast lives in the root conftest.py)."""

import pytest

from tests.chat_support import clock, inbox  # noqa: F401 - fixtures, found by pytest here
from tests.ws_helpers import Sockets


@pytest.fixture
async def ws(transactional_db):
    """A registry of WebSocket test clients, all disconnected at teardown."""
    sockets = Sockets()
    yield sockets
    await sockets.close_all()
