"""Room timers of one event loop: one task per live room, shared by this process's sockets
in it, waking at the room's next deadline to let the service act (chat/consumers.py)."""

import asyncio
import logging
import weakref
from datetime import datetime

from django.utils import timezone

from chat import services
from chat.models import ActiveRoom
from config.db_threads import db_call

logger = logging.getLogger("rendezvous.ws")

_call = db_call


class RoomTimers:
    """The room timers of one event loop: one task per room, shared by the sockets in it."""

    def __init__(self):
        self.tasks: dict[str, asyncio.Task] = {}
        self.watchers: dict[str, set] = {}

    def watch(self, room_id: str, *, rearm: bool = False, first_deadline: datetime | None = None) -> "RoomWatch":
        """`first_deadline`, when the caller knows the room as it started, spares the first read."""
        watch = RoomWatch(self, room_id)
        self.watchers.setdefault(room_id, set()).add(watch)
        task = self.tasks.get(room_id)
        if task is None or task.done() or rearm:
            if task is not None:
                task.cancel()
            self.tasks[room_id] = asyncio.ensure_future(self._run(room_id, first_deadline))
        return watch

    def unwatch(self, watch: "RoomWatch") -> None:
        watchers = self.watchers.get(watch.room_id, set())
        watchers.discard(watch)
        if not watchers:
            self.watchers.pop(watch.room_id, None)
            task = self.tasks.pop(watch.room_id, None)
            if task is not None:
                task.cancel()

    async def _run(self, room_id: str, first_deadline: datetime | None = None):
        try:
            deadline = first_deadline or await _call(_room_deadline, room_id)
            while deadline is not None:
                await asyncio.sleep(max(0.5, (deadline - timezone.now()).total_seconds() + 0.05))
                deadline = await _call(services.room_timer_step, room_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("room timer for %s failed", room_id)


class RoomWatch:
    """One socket's share of its room's timer: cancel() leaves it (the last one stops it)."""

    def __init__(self, timers: RoomTimers, room_id: str):
        self.timers, self.room_id = timers, room_id
        self.left = False

    def cancel(self) -> None:
        if not self.left:
            self.left = True
            self.timers.unwatch(self)

    def done(self) -> bool:
        task = self.timers.tasks.get(self.room_id)
        return self.left or task is None or task.done()


_timers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RoomTimers]" = weakref.WeakKeyDictionary()


def _room_timers() -> RoomTimers:
    loop = asyncio.get_running_loop()
    timers = _timers.get(loop)
    if timers is None:
        timers = _timers[loop] = RoomTimers()
    return timers


def _started_room_deadline(event: dict) -> datetime | None:
    """The first deadline of a room as its room.start describes it (the rule is
    ActiveRoom.next_deadline). Anything that moves it earlier later (a grace period) comes
    with an event that re-reads it; an early wake-up only re-reads the room."""
    try:
        room = ActiveRoom(
            status=event["status"],
            chat_mode=event["mode"],
            started_at=datetime.fromisoformat(event["started_at"]),
            ends_at=datetime.fromisoformat(event["ends_at"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return room.next_deadline()


def _room_deadline(room_id) -> datetime | None:
    room = ActiveRoom.objects.filter(pk=room_id).exclude(status=ActiveRoom.Status.ENDED).first()
    return room.next_deadline() if room else None
