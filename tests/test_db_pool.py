"""The PostgreSQL pool (config/db_backend): a connection never leaks out of it. The suite itself
runs with DB_POOL_MAX=0 (scripts/stack.py), so this test builds a pooled connection of its own."""

import copy
import gc
import threading

import pytest
from django.db import connection

from config.db_backend.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)
POOL_SIZE = 2
ALIAS = "default"  # its pool is this test's own: the suite's "default" has no pool (DB_POOL_MAX=0)


def pooled_settings() -> dict:
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["CONN_MAX_AGE"] = 0
    settings_dict["CONN_HEALTH_CHECKS"] = False
    settings_dict["OPTIONS"] = {
        **settings_dict.get("OPTIONS", {}),
        "pool": {"min_size": 1, "max_size": POOL_SIZE, "timeout": 5},
    }
    return settings_dict


def test_a_thread_that_ends_without_closing_gives_its_pooled_connection_back():
    settings_dict, errors = pooled_settings(), []

    def query_and_forget():
        try:
            wrapper = DatabaseWrapper(settings_dict, alias=ALIAS)
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")  # and no close(): the wrapper is dropped with the thread
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    try:
        for _ in range(POOL_SIZE + 3):  # more threads than the pool has connections
            thread = threading.Thread(target=query_and_forget)
            thread.start()
            thread.join(timeout=30)
            gc.collect()  # the dropped wrapper hands its connection back
        assert errors == []
    finally:
        DatabaseWrapper(settings_dict, alias=ALIAS).close_pool()
