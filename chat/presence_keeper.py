"""Presence that survives Redis losing its data, without any client reconnecting.

Presence (who is online and available) and the channel layer's groups live only in Redis. When
Redis restarts empty, every signed-in socket is still open, but nobody is online or available
any more (invites answer `not_available`), and pushes to a user's group reach nobody. A client's
heartbeat (every 20 s) refreshes "online" but never said "available" again.

So each ASGI process keeps the list of its signed-in sockets with what each last said
(available, modes), and a marker key of its own in Redis. Every CHECK_SECONDS it sets the
marker again, in the same command reading the old value: when the old value is missing, Redis
lost this process's keys (a restart, a flush, a failover), and the process registers every
socket it has again: its presence entry, its availability, and its group. So calls work
again within CHECK_SECONDS (plus a Redis round trip per socket) of Redis answering."""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref

from chat import presence, presence_state
from config.ratelimit import redis_client
from config.realtime import user_group

logger = logging.getLogger("rendezvous.presence")

CHECK_SECONDS = 3.0
MARKER_TTL_SECONDS = 60  # refreshed every check; gone with the process that set it


def _marker_missing(key: str) -> bool:
    """Set the process's marker; True when it was not there (Redis lost it, or first check)."""
    return redis_client().set(key, "1", ex=MARKER_TTL_SECONDS, get=True) is None


def _restore_socket(user_id, channel_name: str, availability: tuple[bool, tuple] | None, reported=None) -> None:
    presence.touch(user_id, channel_name)
    if availability is not None:
        presence.set_available(user_id, availability[0], availability[1])
    presence_state.restore(user_id, reported)


class PresenceKeeper:
    """One per event loop (one ASGI process): its signed-in consumers and the watch task."""

    def __init__(self):
        self.consumers: weakref.WeakSet = weakref.WeakSet()
        self.marker = f"rdv:presence:process:{uuid.uuid4().hex}"
        self.task: asyncio.Task | None = None
        self.primed = False  # the first marker only starts the watch: the sockets registered themselves

    def track(self, consumer) -> None:
        self.consumers.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._watch())

    def untrack(self, consumer) -> None:
        self.consumers.discard(consumer)

    async def _watch(self) -> None:
        while self.consumers:
            try:
                # The first check (as the first socket signs in) only sets the marker.
                if await asyncio.to_thread(_marker_missing, self.marker) and self.primed:
                    await self.restore()
                self.primed = True
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("presence check failed; Redis unavailable?", exc_info=True)
            await asyncio.sleep(CHECK_SECONDS)

    async def restore(self) -> None:
        """Register every signed-in socket of this process again."""
        restored = 0
        for consumer in list(self.consumers):
            user = consumer.user
            if user is None:
                continue
            for attempt in range(3):  # the first command on a pooled connection Redis closed may fail
                try:
                    await asyncio.to_thread(
                        _restore_socket, user.pk, consumer.channel_name, consumer.availability, consumer.reported
                    )
                    await consumer.channel_layer.group_add(user_group(user.pk), consumer.channel_name)
                    break
                except Exception:
                    if attempt == 2:  # the next check tries again
                        logger.warning("presence restore of %s failed", user.pk, exc_info=True)
                        await asyncio.to_thread(redis_client().delete, self.marker)
                        return
            restored += 1
        logger.warning("Redis had lost presence: %s socket(s) of this process registered again", restored)


_keepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceKeeper] = weakref.WeakKeyDictionary()


def presence_keeper() -> PresenceKeeper:
    loop = asyncio.get_running_loop()
    keeper = _keepers.get(loop)
    if keeper is None:
        keeper = _keepers[loop] = PresenceKeeper()
    return keeper
