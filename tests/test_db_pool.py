"""The process's PostgreSQL pool (config/db_backend): a connection never leaks out of it."""

import gc
import threading

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_thread_that_ends_without_closing_gives_its_pooled_connection_back():
    assert settings.DB_POOL_MAX > 0, "the suite runs with the pool, as production does"
    errors = []

    def query_and_forget():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # and no connection.close()
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    for _ in range(settings.DB_POOL_MAX + 3):  # more threads than the pool has connections
        thread = threading.Thread(target=query_and_forget)
        thread.start()
        thread.join(timeout=30)
        gc.collect()  # the thread's DatabaseWrapper is dropped: its connection goes back
    assert errors == []
