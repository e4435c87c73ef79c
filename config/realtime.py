"""Post-commit pushes to users' sockets. Events are hints; the database is the truth.

Only services call send_to_users, and only after commit: a rolled-back action sends nothing.
Inside an ASGI process the service runs on Channels' database thread; waiting there for
Redis would stall every other socket's database work, so the event is handed to the event
loop and sent by one drain task per loop, in the order it was committed. Elsewhere (Celery,
management commands, plain tests) it is sent before the call returns."""

import asyncio
import logging
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue]" = weakref.WeakKeyDictionary()


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
            logger.exception("push %s to %s failed", event.get("type"), user_id)


async def _drain(queue: asyncio.Queue) -> None:
    while True:
        user_ids, event = await queue.get()
        await _deliver(user_ids, event)


def _loop_queue(loop: asyncio.AbstractEventLoop) -> asyncio.Queue:
    """Called on the loop itself: its queue, with the drain task started on first use."""
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = asyncio.Queue()
        task = loop.create_task(_drain(queue))
        task.add_done_callback(lambda t: _queues.pop(loop, None))
    return queue


def _send_now(user_ids, event: dict) -> None:
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(lambda: _loop_queue(loop).put_nowait((user_ids, event)))
        return
    async_to_sync(_deliver)(user_ids, event)


def send_to_users(user_ids, event: dict) -> None:
    """Deliver `event` to every socket of these users once the current transaction commits."""
    ids = [str(u) for u in user_ids]
    transaction.on_commit(lambda: _send_now(ids, event), robust=True)
