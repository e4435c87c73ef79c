"""Presence changes of one event loop's sockets, batched into at most one frame a second per
viewer allowed to see them (chat/consumers.py)."""

import asyncio
import logging
import weakref

from asgiref.sync import sync_to_async

from chat import presence, reel
from config.db_threads import db_call

logger = logging.getLogger("rendezvous.ws")

_call = db_call


@sync_to_async(thread_sensitive=False)
def _redis(fn, *args, **kwargs):
    """A presence (Redis-only) call, on a worker thread: never queued behind the ORM calls on
    Channels' one database thread."""
    return fn(*args, **kwargs)


class PresenceBatch:
    """Presence changes of this process's sockets, sent at most once a second as one
    `presence.update{users: [...]}` per viewer, and only to viewers whose reel could show
    those users (reel.presence_audience: cooldown, report, ban and no access hide them).
    Viewers are the users online now, reached through their live socket channels (presence)
    with one layer call per distinct event. So a change costs a frame on each socket allowed
    to see that user, never one on every socket; a burst of N changes within a second is one
    frame per such socket."""

    INTERVAL_SECONDS = 1.0
    # More visible changes than this in one flush (a burst) and a viewer gets `reel.changed`
    # instead: no identities, "refetch the reel". Keeps a burst's bytes O(viewers), not O(N²).
    MAX_USERS_PER_EVENT = 50

    def __init__(self, layer):
        self.layer = layer
        self.changes: dict[str, dict] = {}
        self.task: asyncio.Task | None = None

    def add(self, user_id: str, *, online: bool, available: bool) -> None:
        self.changes[user_id] = {"user": user_id, "online": online, "available": available}
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.INTERVAL_SECONDS)
        changes, self.changes = self.changes, {}
        if not changes:
            return
        try:
            viewers = await _redis(presence.online_ids)
            audience = await _call(reel.presence_audience, changes, viewers)
            channels = await _redis(presence.channels_of, audience)
        except Exception:  # a lost hint; clients re-read the reel
            logger.exception("presence audience failed")
            return
        # One event per distinct set of visible users (usually one for everyone), sent to all
        # the sockets of the viewers it is for in one layer call.
        sends: dict[int, tuple[set, list[str]]] = {}
        for viewer, subjects in audience.items():
            sends.setdefault(id(subjects), (subjects, []))[1].extend(channels.get(viewer, ()))
        for subjects, channel_names in sends.values():
            if len(subjects) > self.MAX_USERS_PER_EVENT:
                event = {"type": "push", "event": {"type": "reel.changed"}}
            else:
                users = [changes[s] for s in sorted(subjects)]
                event = {"type": "push", "event": {"type": "presence.update", "users": users}}
            try:
                await self.layer.send_many(channel_names, event)
            except Exception:  # a lost hint; clients re-read the reel
                logger.exception("presence update failed")


_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceBatch]" = weakref.WeakKeyDictionary()


def _presence_batch(layer) -> PresenceBatch:
    """One batch per event loop (a loop's task cannot run on another)."""
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None or batch.layer is not layer:
        batch = _batches[loop] = PresenceBatch(layer)
    return batch
