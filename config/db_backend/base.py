"""Django's PostgreSQL backend whose pooled connection goes back to the pool when its thread
ends without closing it.

With Django's psycopg pool a connection is returned only by connection.close(). A thread that
used the database and ended without closing (an executor thread, a test's thread) dropped its
DatabaseWrapper with the connection still checked out: psycopg_pool never got it back, and
after DB_POOL_MAX such threads every new call in the process waited DB_POOL_TIMEOUT and
failed. Here the dropped wrapper hands its connection back (the pool rolls back whatever it
was doing), so a forgotten close costs nothing."""

import contextlib

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __del__(self):
        connection = self.__dict__.get("connection")
        pools = type(self)._connection_pools
        pool = pools.get(self.alias) if connection is not None else None
        if pool is not None:
            with contextlib.suppress(Exception):  # not the pool's (any more), or the pool is closed
                pool.putconn(connection)
