"""Post-commit pushes to users' sockets. Events are hints; the database is the truth.

Only services call send_to_users, and only after commit: a rolled-back action sends nothing.
Inside an ASGI process the service runs on Channels' database thread; waiting there for
Redis would stall every other socket's database work, so the event is handed to the event
loop, where one short-lived flush task at a time sends everything handed over, in commit
order, and ends when nothing is left. Elsewhere (Celery, management commands, plain tests)
the event is sent before the call returns."""

import asyncio
import logging
import threading
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_outboxes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def user_group(user_id) -> str:
    return f"user.{user_id}"


async def _deliver(user_ids, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for user_id in user_ids:
        try:
            await layer.group_send(user_group(user_id), {"type": "push", "event": event})
        except Exception:  # a lost hint; clients resync from the database
            logger.exception("push %s to %s failed", event.get("type"), user_id, extra={"event": "push.failed"})


async def _flush(loop: asyncio.AbstractEventLoop) -> None:
    while True:
        with _lock:
            outbox = _outboxes[loop]
            items, outbox["items"] = outbox["items"], []
            if not items:
                outbox["flushing"] = False
                return
        for user_ids, event in items:
            await _deliver(user_ids, event)


def _send_now(user_ids, event: dict) -> None:
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or not loop.is_running():
        async_to_sync(_deliver)(user_ids, event)
        return
    with _lock:
        outbox = _outboxes.setdefault(loop, {"items": [], "flushing": False})
        outbox["items"].append((user_ids, event))
        start, outbox["flushing"] = not outbox["flushing"], True
    if start:
        loop.call_soon_threadsafe(lambda: loop.create_task(_flush(loop)))


def send_to_users(user_ids, event: dict) -> None:
    """Deliver `event` to every socket of these users once the current transaction commits."""
    ids = [str(u) for u in user_ids]
    transaction.on_commit(lambda: _send_now(ids, event), robust=True)
