"""The one WebSocket endpoint, /ws/ (SPEC §6). Thin: authenticate, validate, call a service,
ack with the stored id. A bad or unknown message gets an `error` reply; nothing a client
sends can close or crash the socket, except failing to authenticate."""

import asyncio
import json
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from channels.consumer import get_handler_name
from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from accounts.selectors import authenticate_token, ensure_not_banned, session_still_valid
from chat import presence, protocol, selectors, services
from chat.events import message_payload
from config.client_ip import client_ip_from_scope
from config.errors import ServiceError
from config.realtime import user_group

logger = logging.getLogger("rendezvous.ws")

AUTH_TIMEOUT_SECONDS = 5
PRESENCE_GROUP = "presence"
# Events after which a room's next deadline may have moved (grace started or lifted, ...).
REARM_EVENTS = {"room.partner_disconnected", "room.partner_reconnected", "room.inactivity_warning", "room.upgraded"}


class Close:
    """Close codes (4000–4999 are ours) and their reasons."""

    AUTH_TIMEOUT = (4001, "auth_timeout")
    NOT_AUTHENTICATED = (4001, "not_authenticated")
    INVALID_TOKEN = (4001, "invalid_token")
    SESSION_INVALIDATED = (4001, "session_invalidated")
    BANNED = (4003, "banned")
    IP_BANNED = (4003, "ip_banned")


# Database calls run on a bounded thread pool over the connection pool (docs/hot-path.md), not
# on Channels' one database thread per process: at most DB_POOL_MAX at once, each borrowing a
# pooled connection for the call (DatabaseSyncToAsync gives it back when the call is done).
_DB_THREADS = ThreadPoolExecutor(max_workers=max(1, settings.DB_POOL_MAX or 8), thread_name_prefix="ws-db")


def _on_db_thread(fn):
    return DatabaseSyncToAsync(fn, thread_sensitive=False, executor=_DB_THREADS)


@_on_db_thread
def _authenticate(token: str, ip):
    result = authenticate_token(token, ip=ip)
    ensure_not_banned(result.user)
    return result


@_on_db_thread
def _call(fn, *args, **kwargs):
    return fn(*args, **kwargs)


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    user = None
    session_id = None
    auth_deadline: asyncio.Task | None = None
    room_watch: "RoomWatch | None" = None
    room_id: str | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timers: set[asyncio.Task] = set()

    async def __call__(self, scope, receive, send):
        async def send_unless_gone(message):
            """A frame for a client that is already gone (uvicorn raises ClientDisconnected, an
            OSError) is dropped: its websocket.disconnect follows and disconnect() does the
            bookkeeping. Raised, it would end the consumer without it (presence, grace, timers)."""
            try:
                await send(message)
            except OSError:
                logger.debug("dropped %s for a closed socket", message.get("type"))

        return await super().__call__(scope, receive, send_unless_gone)

    async def dispatch(self, message):
        """As Channels' dispatch, without its close_old_connections() before every frame and
        push: that is a hop through the one thread-sensitive thread per event, and this
        consumer never touches the database on the event loop (the DB threads borrow a pooled
        connection per call and give it back, DatabaseSyncToAsync)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection lifecycle -------------------------------------------------------------

    async def connect(self):
        await self.accept()
        self.auth_deadline = asyncio.ensure_future(self._auth_deadline())

    async def _auth_deadline(self):
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self._close(Close.AUTH_TIMEOUT)

    async def _close(self, close: tuple[int, str]):
        await self.send_json({"type": "closing", "code": close[0], "reason": close[1]})
        await self.close(code=close[0], reason=close[1])

    async def disconnect(self, code):
        for task in (self.auth_deadline, self.room_watch, *self.timers):
            if task:
                task.cancel()
        if self.user is None:
            return
        await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        await self.channel_layer.group_discard(PRESENCE_GROUP, self.channel_name)
        try:
            remaining = await _call(presence.drop, self.user.pk, self.channel_name)
            if remaining == 0:
                room_id = await _call(selectors.live_room_id_of, self.user.pk)
                if room_id:
                    await _call(services.mark_disconnected, self.user, room_id=room_id)
                await self._broadcast_presence(online=False, available=False)
        except Exception:  # disconnect must never raise
            logger.exception("disconnect bookkeeping failed for %s", self.user.pk)

    # --- inbound --------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Decode ourselves, so malformed JSON gets an error instead of killing the socket."""
        if bytes_data is not None or text_data is None:
            return await self._error(None, "malformed", "Send JSON text frames.")
        if len(text_data.encode()) > protocol.MAX_FRAME_BYTES:
            return await self._error(None, "too_large", "Messages are at most 64 KB.")
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            return await self._error(None, "malformed", "That is not valid JSON.")
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        try:
            message = protocol.parse(content)
        except protocol.ProtocolError as exc:
            if self.user is None:
                return await self._close(Close.NOT_AUTHENTICATED)
            return await self._error(exc.request_id, exc.code, exc.message)
        if self.user is None and message.type != "auth":
            return await self._close(Close.NOT_AUTHENTICATED)
        handler = getattr(self, "on_" + message.type.replace(".", "_"))
        try:
            await handler(message)
        except ServiceError as exc:
            await self._error(message.id, exc.code, exc.message, **exc.extra)
        except Exception:
            logger.exception("handling %s for %s failed", message.type, getattr(self.user, "pk", None))
            await self._error(message.id, "server_error", "Something went wrong; try again.")

    async def _error(self, request_id, code, message, **extra):
        await self.send_json({"type": "error", "id": request_id, "code": code, "message": message, **extra})

    async def _ack(self, message, **extra):
        await self.send_json({"type": "ack", "id": message.id, "for": message.type, **extra})

    # --- handlers ---------------------------------------------------------------------------

    async def on_auth(self, message):
        if self.user is not None:
            return await self._error(message.id, "already_authenticated", "This socket is signed in.")
        try:
            result = await _authenticate(message.token, client_ip_from_scope(self.scope))
        except ServiceError as exc:
            close = {"banned": Close.BANNED, "ip_banned": Close.IP_BANNED}.get(exc.code, Close.INVALID_TOKEN)
            return await self._close(close)
        self.user, self.session_id = result.user, result.session.pk
        if self.auth_deadline:
            self.auth_deadline.cancel()
        await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        await self.channel_layer.group_add(PRESENCE_GROUP, self.channel_name)
        await _call(presence.touch, self.user.pk, self.channel_name)
        await self._ack(message, user={"id": str(self.user.pk), "name": self.user.name}, session=self.session_id)
        resume = await _call(services.mark_connected, self.user)
        if resume:
            await self._send_resume(resume, message.since)

    async def _send_resume(self, payload: dict, since):
        messages = await _call(selectors.messages_since, payload["room"], since)
        await self.send_json({"type": "room.resume", **payload, "messages": [message_payload(m) for m in messages]})
        self._watch_room(payload["room"])

    async def on_ping(self, message):
        if not await _call(session_still_valid, self.session_id):
            return await self._close(Close.SESSION_INVALIDATED)
        await _call(presence.touch, self.user.pk, self.channel_name)
        await self._ack(message)

    async def on_presence_set(self, message):
        await _call(presence.set_available, self.user.pk, message.available, tuple(message.modes))
        await self._ack(message, available=message.available, modes=list(message.modes))
        await self._broadcast_presence(online=True, available=message.available)

    async def _broadcast_presence(self, *, online: bool, available: bool):
        _presence_batch(self.channel_layer).add(str(self.user.pk), online=online, available=available)

    async def on_call_invite(self, message):
        invite = await _call(services.send_invite, self.user, to=message.to, mode=message.mode, seconds=message.seconds)
        await self._ack(message, invite=str(invite.pk), expires_at=invite.expires_at.isoformat())
        self._later((invite.expires_at - timezone.now()).total_seconds() + 0.2, services.expire_invite, invite.pk)

    def _later(self, delay: float, fn, *args):
        """Run a service call after `delay` seconds, unless this socket closes first."""

        async def run():
            await asyncio.sleep(max(0.0, delay))
            try:
                await _call(fn, *args)
            except Exception:
                logger.exception("timer %s failed", getattr(fn, "__name__", fn))

        task = asyncio.ensure_future(run())
        self.timers.add(task)
        task.add_done_callback(self.timers.discard)

    async def on_call_accept(self, message):
        room = await _call(services.accept_invite, self.user, invite_id=message.invite, seconds=message.seconds)
        await self._ack(message, room=str(room.pk), ends_at=room.ends_at.isoformat())
        self._watch_room(str(room.pk))

    async def on_call_decline(self, message):
        await _call(services.decline_invite, self.user, invite_id=message.invite)
        await self._ack(message)

    async def on_call_cancel(self, message):
        await _call(services.cancel_invite, self.user, invite_id=message.invite)
        await self._ack(message)

    async def _relay(self, message, event: dict):
        partner = await _call(services.relay_target, self.user, room_id=message.room)
        event = {**event, "room": str(message.room), "from": str(self.user.pk)}
        await self.channel_layer.group_send(user_group(partner), {"type": "push", "event": event})

    async def on_rtc_offer(self, message):
        await self._relay(message, {"type": "rtc.offer", "sdp": message.sdp})

    async def on_rtc_answer(self, message):
        await self._relay(message, {"type": "rtc.answer", "sdp": message.sdp})

    async def on_rtc_ice(self, message):
        await self._relay(message, {"type": "rtc.ice", "candidate": message.candidate})

    async def on_chat_typing(self, message):
        await self._relay(message, {"type": "chat.typing"})

    async def on_chat_message(self, message):
        result = await _call(
            services.post_message,
            self.user,
            room_id=message.room,
            client_id=message.client_id,
            text=message.text,
            gif_url=message.gif_url,
        )
        stored = result.message
        await self._ack(message, message_id=stored.pk, client_id=stored.client_id, duplicate=not result.created)

    async def on_room_end(self, message):
        await _call(services.end_room_by_member, self.user, room_id=message.room)
        await self._ack(message)

    async def on_room_resume(self, message):
        resume = await _call(services.mark_connected, self.user)
        if not resume:
            return await self._error(message.id, "not_in_room", "You are not in a call.")
        await self._ack(message)
        await self._send_resume(resume, message.since)

    async def on_room_share_socials(self, message):
        stored = await _call(services.share_socials, self.user, room_id=message.room)
        await self._ack(message, message_id=stored.pk)

    async def on_room_upgrade_request(self, message):
        await _call(services.request_upgrade, self.user, room_id=message.room)
        await self._ack(message)

    async def on_room_upgrade_accept(self, message):
        await _call(services.accept_upgrade, self.user, room_id=message.room)
        await self._ack(message)

    # --- outbound (group messages) --------------------------------------------------------

    async def push(self, message):
        """An event for this user from a service (after commit) or a relay."""
        event = message["event"]
        kind = event.get("type")
        if kind == "session_invalidated" and self.session_id in event.get("sessions", []):
            await self.send_json(event)
            return await self._close(Close.SESSION_INVALIDATED)
        if kind == "banned":
            await self.send_json(event)
            return await self._close(Close.BANNED)
        await self.send_json(event)
        if kind == "room.start":
            self._watch_room(event["room"])
        elif kind in REARM_EVENTS and event.get("room"):
            self._watch_room(event["room"], rearm=True)
        elif kind == "room.ended" and event.get("room") == self.room_id and self.room_watch:
            self.room_watch.cancel()
            self.room_id = None

    # --- room timer ---------------------------------------------------------------------------

    def _watch_room(self, room_id: str, *, rearm: bool = False):
        """Wake at the room's next deadline and let the service act (end, warn). A process runs
        one timer per room however many of its sockets are in it (RoomTimers); the service is
        idempotent across processes, and the beat sweep is the backstop."""
        if self.room_watch and self.room_id == room_id and not rearm and not self.room_watch.done():
            return
        if self.room_watch:
            self.room_watch.cancel()
        self.room_id = room_id
        self.room_watch = _room_timers().watch(room_id, rearm=rearm)


class RoomTimers:
    """The room timers of one event loop: one task per room, shared by the sockets in it."""

    def __init__(self):
        self.tasks: dict[str, asyncio.Task] = {}
        self.watchers: dict[str, set] = {}

    def watch(self, room_id: str, *, rearm: bool = False) -> "RoomWatch":
        watch = RoomWatch(self, room_id)
        self.watchers.setdefault(room_id, set()).add(watch)
        task = self.tasks.get(room_id)
        if task is None or task.done() or rearm:
            if task is not None:
                task.cancel()
            self.tasks[room_id] = asyncio.ensure_future(self._run(room_id))
        return watch

    def unwatch(self, watch: "RoomWatch") -> None:
        watchers = self.watchers.get(watch.room_id, set())
        watchers.discard(watch)
        if not watchers:
            self.watchers.pop(watch.room_id, None)
            task = self.tasks.pop(watch.room_id, None)
            if task is not None:
                task.cancel()

    async def _run(self, room_id: str):
        try:
            deadline = await _call(_room_deadline, room_id)
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


class PresenceBatch:
    """Presence changes of this process's sockets, sent to every socket at most once a
    second as one `presence.update{users: [...]}`: N users going online cost N/s frames per
    socket at worst, not N² group sends."""

    INTERVAL_SECONDS = 1.0

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
        changes, self.changes = list(self.changes.values()), {}
        if changes:
            event = {"type": "presence.update", "users": changes}
            try:
                await self.layer.group_send(PRESENCE_GROUP, {"type": "push", "event": event})
            except Exception:  # a lost hint; clients re-read the reel
                logger.exception("presence broadcast failed")


_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceBatch]" = weakref.WeakKeyDictionary()


def _presence_batch(layer) -> PresenceBatch:
    """One batch per event loop (a loop's task cannot run on another)."""
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None or batch.layer is not layer:
        batch = _batches[loop] = PresenceBatch(layer)
    return batch


def _room_deadline(room_id) -> datetime | None:
    from chat.models import ActiveRoom

    room = ActiveRoom.objects.filter(pk=room_id).exclude(status=ActiveRoom.Status.ENDED).first()
    return services.next_deadline(room) if room else None
