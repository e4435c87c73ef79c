"""Database calls from an event loop: one bounded thread pool per process, and every call gives
its connection back before it returns (docs/hot-path.md).

Why not Channels' `database_sync_to_async`: it relies on `close_old_connections()`, which only
closes a connection that is obsolete or broken, and which Channels' own test communicator
patches out to a no-op while a test sends or receives a frame. A pool thread that finished a
call inside such a window kept its connection checked out while idle; with more threads than
pooled connections (the token checks had threads of their own) the idle holders used up the
pool and every later call waited DB_POOL_TIMEOUT and failed. Here the call's own `finally`
closes (with the pool: returns) every connection the thread opened, whatever the caller
patched or cancelled, and there are never more threads than pooled connections.

Each call also carries, explicitly, the event loop it was awaited from
(`config.realtime.pushes_via`) and collects the pushes its transaction commits into one batch
(`config.realtime.collecting_pushes`), handed to that loop once the call is done: on the same
wake-up that hands the result over (`config.realtime.Awaited`), not on one of its own."""

import asyncio
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections

from config import logs, realtime
from config.errors import ServiceUnavailable

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def size() -> int:
    """Threads per process: one per pooled connection (DB_POOL_MAX), 8 without the pool."""
    return max(1, settings.DB_POOL_MAX or 8)


def executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=size(), thread_name_prefix="db")
        return _executor


def release_connections() -> None:
    """Give back what this thread holds. With the pool, closing returns the connection (the pool
    rolls back anything left open); without it, Django's usual rule (CONN_MAX_AGE) applies."""
    pooled = settings.DB_POOL_MAX > 0
    for connection in connections.all(initialized_only=True):
        if pooled:
            connection.close()
        else:
            connection.close_if_unusable_or_obsolete()


def _in_thread(loop, log_fields, awaited, fn, args, kwargs):
    try:
        with logs.bound_to(log_fields), realtime.pushes_via(loop), realtime.collecting_pushes(awaited):
            return fn(*args, **kwargs)
    finally:
        release_connections()


async def db_call(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` on a database thread, with the caller's log fields, answered within
    DB_CALL_TIMEOUT seconds or ServiceUnavailable: a frozen PostgreSQL holds the threads' queries,
    and a caller must not wait with them. A call still queued then never runs; one already
    running finishes on its thread (what it commits is what an idempotent retry finds).

    The call runs in the thread's own context, not a copy of the caller's: Django keeps its
    cache clients in context-local storage, and a fresh copy per call made a new Redis client
    (and TCP connection) for every cache read of every call. So each thread keeps its own."""
    loop = asyncio.get_running_loop()
    awaited = realtime.Awaited()
    call = functools.partial(_in_thread, loop, logs.bound(), awaited, fn, args, kwargs)
    future = loop.run_in_executor(executor(), call)
    # The call's pushes go out on the wake-up that hands its result over (one thread-to-loop
    # wake-up per call, not two), before the caller resumes: so before its ack, as before.
    future.add_done_callback(lambda _: realtime.call_finished(loop, awaited))
    if not settings.DB_CALL_TIMEOUT:
        return await future
    try:
        async with asyncio.timeout(settings.DB_CALL_TIMEOUT):
            return await future
    except TimeoutError:
        raise ServiceUnavailable(retry_after=settings.SERVICE_UNAVAILABLE_RETRY_AFTER) from None
