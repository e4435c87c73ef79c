"""Post-commit pushes to users' sockets. Events are hints; the database is the truth.

Only services call send_to_users, and only after commit: a rolled-back action sends nothing.
Where a push goes:

- From a database thread of an ASGI process (config.db_threads) the event loop the call came
  from is known explicitly (`pushes_via`, a context variable the call sets; the HTTP side sets
  it at the ASGI entry, config.asgi). Waiting there for Redis would hold the thread and its
  pooled connection, so the pushes are handed to that loop, where one short-lived flush task at
  a time sends everything handed over, in commit order, and ends when nothing is left.
- The pushes one database call commits are collected (`collecting_pushes`) and handed over as
  one batch: the flush resolves the users' sockets in one Redis read and sends to all of them
  with at most one Redis call (config.channel_layer.push_to_groups), a socket of this process
  getting it without Redis at all.
- Elsewhere (Celery, management commands, plain tests) the event is sent before the call returns.
"""

import asyncio
import contextlib
import contextvars
import logging
import threading
import weakref

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_outboxes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()
# The event loop that pushes committed in this context go to (None: send them synchronously).
_push_loop: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "rdv_push_loop", default=None
)
# While a database call runs: the pushes its commits produced, handed over together at its end.
_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("rdv_push_batch", default=None)

Push = tuple[list[str], dict]  # (user ids, event)


def user_group(user_id) -> str:
    return f"user.{user_id}"


@contextlib.contextmanager
def pushes_via(loop: asyncio.AbstractEventLoop | None):
    """Within this block, committed pushes are handed to `loop` (an ASGI process's event loop)."""
    token = _push_loop.set(loop)
    try:
        yield
    finally:
        _push_loop.reset(token)


def bind_event_loop() -> None:
    """Called by the ASGI entry on its event loop: the threads this request's task starts (Django
    runs sync views on one) inherit the context, and with it the loop their pushes go to."""
    _push_loop.set(asyncio.get_running_loop())


class PushLoopMiddleware:
    """ASGI middleware: each connection's task binds its event loop (bind_event_loop) first."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        bind_event_loop()
        return await self.app(scope, receive, send)


class Awaited:
    """A database call whose awaiting event loop flushes its pushes itself (db_call): while
    `waiting`, the call's pushes are left in the loop's outbox without waking the loop, and
    `call_finished` starts the flush on the loop when the call's future completes (the wake-up
    that hands the result over). Once the future is done (a cancel or a timeout included) the
    call's pushes wake the loop themselves, as any other thread's do."""

    __slots__ = ("waiting",)

    def __init__(self):
        self.waiting = True


@contextlib.contextmanager
def collecting_pushes(awaited: Awaited | None = None):
    """Pushes committed within this block are dispatched together when it ends."""
    batch: list[Push] = []
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        if batch:
            _dispatch(batch, awaited)


def call_finished(loop: asyncio.AbstractEventLoop, awaited: Awaited) -> None:
    """On the loop, when an Awaited call's future completes: flush what it left in the outbox."""
    with _lock:
        awaited.waiting = False
        outbox = _outboxes.get(loop)
        if outbox is None or not outbox["items"] or outbox["flushing"]:
            return
        outbox["flushing"] = True
    loop.create_task(_flush(loop))


async def deliver(pushes: list[Push]) -> None:
    """Send now, from an event loop: every socket of these users gets its events, in order."""
    layer = get_channel_layer()
    if layer is None or not pushes:
        return
    items = [([user_group(u) for u in user_ids], event) for user_ids, event in pushes]
    try:
        await layer.push_to_groups(items, message_type="push")  # config.channel_layer, the one layer
    except Exception:  # a lost hint; clients resync from the database
        kinds = sorted({event.get("type", "?") for _, event in pushes})
        logger.exception("push %s failed", ",".join(kinds), extra={"event": "push.failed"})


async def _flush(loop: asyncio.AbstractEventLoop) -> None:
    while True:
        with _lock:
            outbox = _outboxes[loop]
            items, outbox["items"] = outbox["items"], []
            if not items:
                outbox["flushing"] = False
                return
        await deliver(items)  # everything handed over meanwhile, in one layer call


def _dispatch(pushes: list[Push], awaited: Awaited | None = None) -> None:
    loop = _push_loop.get()
    if loop is None or not loop.is_running():
        async_to_sync(deliver)(pushes)
        return
    with _lock:
        outbox = _outboxes.setdefault(loop, {"items": [], "flushing": False})
        outbox["items"].extend(pushes)
        if awaited is not None and awaited.waiting:
            return  # flushed by call_finished, on the wake-up that hands the call's result over
        start, outbox["flushing"] = not outbox["flushing"], True
    if start:
        try:
            loop.call_soon_threadsafe(lambda: loop.create_task(_flush(loop)))
        except RuntimeError:  # the loop closed meanwhile (shutdown): a lost hint
            with _lock:
                outbox["items"], outbox["flushing"] = [], False


def _committed(ids: list[str], event: dict) -> None:
    batch = _batch.get()
    if batch is not None:
        batch.append((ids, event))
    else:
        _dispatch([(ids, event)])


def send_to_users(user_ids, event: dict) -> None:
    """Deliver `event` to every socket of these users once the current transaction commits."""
    ids = [str(u) for u in user_ids]
    transaction.on_commit(lambda: _committed(ids, event), robust=True)
