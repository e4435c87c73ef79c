"""The PostgreSQL pool: a connection never stays checked out by a thread that is not using it.
The suite runs with the pool on (DB_POOL_MAX, as in production)."""

import asyncio
import gc
import threading
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection, connections

from config import db_threads
from tests.factories import UserFactory
from tests.ws_helpers import allow_next_message, run, start_room

pytestmark = pytest.mark.django_db(transaction=True)
ALIAS = "default"
needs_pool = pytest.mark.skipif(settings.DB_POOL_MAX <= 0, reason="runs with the pool on (DB_POOL_MAX > 0)")


def checked_out() -> int:
    """Connections of the process's pool that some thread holds right now."""
    stats = connections[ALIAS].pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


@needs_pool
def test_a_thread_that_ends_without_closing_gives_its_pooled_connection_back():
    errors = []

    def query_and_forget():
        try:
            with connections[ALIAS].cursor() as cursor:
                cursor.execute("SELECT 1")  # and no close(): the wrapper is dropped with the thread
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    for _ in range(settings.DB_POOL_MAX + 3):  # more threads than the pool has connections
        thread = threading.Thread(target=query_and_forget)
        thread.start()
        thread.join(timeout=30)
        gc.collect()  # the dropped wrapper hands its connection back (config/db_backend)
    assert errors == []


def _query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.01)")


@needs_pool
async def test_a_database_call_returns_its_connection_even_when_close_old_connections_is_patched_out():
    # Channels' test communicator patches close_old_connections to a no-op while a test sends or
    # receives a frame; Channels' database_sync_to_async relied on it, so a pool thread kept its
    # connection, idle, and more threads than connections drained the pool.
    await run(connections.close_all)()
    with mock.patch("channels.db.close_old_connections", lambda: None):
        await asyncio.gather(*(db_threads.db_call(_query) for _ in range(db_threads.size() * 4)))

    assert await asyncio.to_thread(checked_out) == 0


@needs_pool
async def test_after_a_burst_of_socket_calls_every_pooled_connection_is_back_in_the_pool(ws):
    users = [await run(UserFactory)() for _ in range(8)]
    pairs = list(zip(users[::2], users[1::2], strict=True))

    async def call(caller, callee):
        a, b, room = await start_room(ws, caller, callee, mode="text", seconds=300)
        for n in range(3):
            await a.ok({"type": "chat.message", "room": room, "client_id": f"c{n}", "text": "hi"})
            await b.receive_until("chat.message", room=room)
            await allow_next_message(room)
        await b.ok({"type": "room.end", "room": room})
        await a.receive_until("room.ended", room=room)

    await asyncio.gather(*(call(a, b) for a, b in pairs))
    await ws.close_all()

    assert await asyncio.to_thread(checked_out) == 0
    # and the pool still serves a full set of calls at once
    await asyncio.gather(*(db_threads.db_call(_query) for _ in range(settings.DB_POOL_MAX)))
