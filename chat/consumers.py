"""The one WebSocket endpoint, /ws/. Thin: authenticate, validate, call a service,
ack with the stored id. A bad or unknown message gets an `error` reply; nothing a client
sends can close or crash the socket, except failing to authenticate.

Its helpers, one per module: the sign-in and its gate (chat/auth_gate.py), the room timers
(chat/room_timers.py), the presence batching (chat/presence_batch.py)."""

import asyncio
import functools
import json
import logging
import time
from datetime import datetime

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from accounts.selectors import session_still_valid
from chat import outbound, presence, presence_state, protocol, selectors, services
from chat.auth_gate import AuthGate, Overloaded, PresenceUnavailable, _auth_gate, _authenticate
from chat.events import message_payload
from chat.frame_budget import FrameBudgets
from chat.outbound import RoomTimer
from chat.presence_batch import PresenceBatch, _presence_batch, _redis
from chat.presence_keeper import presence_keeper
from chat.room_timers import RoomTimers, RoomWatch, _room_timers, _started_room_deadline
from config import realtime
from config.client_ip import client_ip_from_scope
from config.db_threads import db_call
from config.errors import UNAVAILABLE, ServiceError, ServiceUnavailable
from config.gc_tuning import burst_left
from config.realtime import user_group

__all__ = ["AuthGate", "PresenceBatch", "RealtimeConsumer", "RoomTimers"]

logger = logging.getLogger("rendezvous.ws")

# The client's time to send its token, from accept. Once a token has arrived, the time the
# server takes to check it never closes the socket (see AuthGate for when it sheds instead).
AUTH_TIMEOUT_SECONDS = settings.WS_AUTH_TIMEOUT_SECONDS
# A ping re-checks the session in the database at most this often (the web client pings every
# 20 s, so each of its pings does; a faster client's extra pings cost no database round trip).
SESSION_RECHECK_SECONDS = 15


class Close:
    """Close codes (4000–4999 are ours) and their reasons."""

    AUTH_TIMEOUT = (4001, "auth_timeout")
    NOT_AUTHENTICATED = (4001, "not_authenticated")
    INVALID_TOKEN = (4001, "invalid_token")
    SESSION_INVALIDATED = (4001, "session_invalidated")
    BANNED = (4003, "banned")
    IP_BANNED = (4003, "ip_banned")
    OVERLOADED = (4013, "overloaded")  # the server cannot take this socket now; retry after `retry_after` s
    TOO_MANY_SOCKETS = (4029, "too_many_sockets")  # WS_MAX_SOCKETS_PER_USER of this user are open
    RATE_LIMITED = (4008, "rate_limited")  # kept sending past its frame budgets (chat.frame_budget)


SERVER_RESTART = 1012  # the close code uvicorn gives every socket when it shuts down (a restart)

# Database calls (the token check included) run on the process's bounded database threads, one
# per pooled connection, each call giving its connection back when it is done (config.db_threads).
_call = db_call


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    user = None
    session_id = None
    auth_deadline: asyncio.Task | None = None
    room_watch: "RoomWatch | None" = None
    room_id: str | None = None
    authenticating = False
    keepalive: asyncio.Task | None = None
    session_checked_at = 0.0  # time.monotonic() of the last session check (sign-in or ping)
    availability: tuple[bool, tuple] | None = None  # what presence.set last said (chat.presence_keeper)
    reported_available: bool | None = None  # what the last presence.state ack said
    reported = None  # what presence.state last recorded (chat.presence_state, restored by chat.presence_keeper)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timers: set[asyncio.Task] = set()
        self.budgets = FrameBudgets()

    async def __call__(self, scope, receive, send):
        async def send_unless_gone(message):
            """A frame for a client that is already gone (uvicorn raises ClientDisconnected, an
            OSError) is dropped: its websocket.disconnect follows and disconnect() does the
            bookkeeping. Raised, it would end the consumer without it (presence, grace, timers)."""
            try:
                await send(message)
            except OSError:
                logger.debug("dropped %s for a closed socket", message.get("type"))

        try:
            return await super().__call__(scope, receive, send_unless_gone)
        finally:
            self.channel_layer.detach(self.channel_name)

    # Channels sets `channel_receive` to the layer's receive of this socket's channel. With our
    # layer the socket receives from its inbox instead, which this process's pushes reach
    # without Redis (config/channel_layer.py); Redis still brings the other processes' ones.
    @property
    def channel_receive(self):
        return functools.partial(self.channel_layer.local_receive, self.channel_name)

    @channel_receive.setter
    def channel_receive(self, receive):
        pass  # Channels' own receive of the channel: the inbox above is read instead

    async def dispatch(self, message):
        """As Channels' dispatch, without its close_old_connections() before every frame and
        push: that is a hop through the one thread-sensitive thread per event, and this
        consumer never touches the database on the event loop (the DB threads borrow a pooled
        connection per call and give it back, config.db_threads)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection lifecycle -------------------------------------------------------------

    async def connect(self):
        await self.accept()
        self.auth_deadline = asyncio.ensure_future(self._auth_deadline())

    async def _auth_deadline(self):
        """Only the wait for the client's token: cancelled as soon as an auth frame arrives."""
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.user is None:
            await self._close(Close.AUTH_TIMEOUT)

    async def _close(self, close: tuple[int, str], **extra):
        await self.send_json({"type": "closing", "code": close[0], "reason": close[1], **extra})
        await self.close(code=close[0], reason=close[1])

    async def disconnect(self, code):
        """Every step is attempted whatever failed before it (a Redis pool timeout in the group
        discard must not leave presence, the room's grace period or the timers behind)."""
        for task in (self.auth_deadline, self.keepalive, self.room_watch, *self.timers):
            if task:
                task.cancel()
        burst_left.socket_closed()  # memory back to the system once a burst has gone (config.gc_tuning)
        if self.user is None:
            return
        user_id = self.user.pk
        presence_keeper().untrack(self)
        try:
            await self.channel_layer.group_discard(user_group(user_id), self.channel_name)
        except Exception:  # the group entry expires with the layer's group_expiry
            logger.exception("group_discard failed for %s", user_id)
        if code == SERVER_RESTART:
            # This server is stopping (a redeploy), not the user leaving: their presence entry
            # stays until it lapses or they reconnect, and their room stays active, so no grace
            # starts counting while no server is up (recover_rooms gives graces from the restart).
            return
        try:
            remaining = await _redis(presence.drop, user_id, self.channel_name)
        except Exception:  # the socket's presence entry lapses by its TTL
            logger.exception("presence drop failed for %s", user_id)
            return
        if remaining:
            return
        try:
            room_id = await _call(selectors.live_room_id_of, user_id)
            if room_id:
                await _call(services.mark_disconnected, self.user, room_id=room_id, only_if_offline=True)
        except Exception:  # disconnect must never raise; the beat sweep is the backstop
            logger.exception("disconnect bookkeeping failed for %s", user_id)
        self._broadcast_presence(online=False, available=False)

    # --- inbound --------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Decode ourselves, so malformed JSON gets an error instead of killing the socket."""
        retry_after = self.budgets.refused(None)  # every frame, before any work on it
        if retry_after is not None:
            return await self._rate_limited(None, retry_after)
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
        retry_after = self.budgets.refused(message.type)
        if retry_after is not None:
            return await self._rate_limited(message.id, retry_after)
        handler = getattr(self, "on_" + message.type.replace(".", "_"))
        try:
            await handler(message)
        except ServiceError as exc:
            await self._error(message.id, exc.code, exc.message, **exc.extra)
        except UNAVAILABLE:  # PostgreSQL or Redis refused or did not answer: retry, never server_error
            logger.warning("handling %s: a dependency is unavailable", message.type, exc_info=True)
            unavailable = ServiceUnavailable(retry_after=settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
            await self._error(message.id, unavailable.code, unavailable.message, **unavailable.extra)
        except Exception:
            logger.exception("handling %s for %s failed", message.type, getattr(self.user, "pk", None))
            await self._error(message.id, "server_error", "Something went wrong; try again.")

    async def _rate_limited(self, request_id, retry_after: int):
        """A frame over its budget: refused with no other work, or the socket closed if it keeps going."""
        if self.budgets.keeps_going():
            logger.warning("closing a socket that kept sending past its budgets", extra={"event": "ws.rate_limited"})
            return await self._close(Close.RATE_LIMITED)
        await self._error(request_id, "rate_limited", "Too many messages; slow down.", retry_after=retry_after)

    async def _error(self, request_id, code, message, **extra):
        await self.send_json({"type": "error", "id": request_id, "code": code, "message": message, **extra})

    async def _ack(self, message, **extra):
        await self.send_json({"type": "ack", "id": message.id, "for": message.type, **extra})

    # --- handlers ---------------------------------------------------------------------------

    async def on_auth(self, message):
        if self.user is not None or self.authenticating:
            return await self._error(message.id, "already_authenticated", "This socket is signed in.")
        self.authenticating = True
        if self.auth_deadline:  # the token is here: from now on the time is the server's
            self.auth_deadline.cancel()
        limit = settings.WS_MAX_SOCKETS_PER_USER
        ip = client_ip_from_scope(self.scope)
        try:
            result, registered = await _auth_gate().run(_authenticate, message.token, ip, self.channel_name, limit)
        except (Overloaded, ServiceUnavailable):
            return await self._close(Close.OVERLOADED, retry_after=AuthGate.RETRY_AFTER_SECONDS)
        except ServiceError as exc:
            close = {"banned": Close.BANNED, "ip_banned": Close.IP_BANNED}.get(exc.code, Close.INVALID_TOKEN)
            return await self._close(close)
        except PresenceUnavailable:
            logger.exception("presence register failed")
            return await self._close(Close.OVERLOADED, retry_after=AuthGate.RETRY_AFTER_SECONDS)
        except Exception:  # database unreachable, ...: the socket must not stay open unauthenticated
            logger.exception("token check failed")
            return await self._close(Close.OVERLOADED, retry_after=AuthGate.RETRY_AFTER_SECONDS)
        user = result.user
        if not registered:
            return await self._close(Close.TOO_MANY_SOCKETS, limit=limit)
        self.user, self.session_id = user, result.session.pk  # from here disconnect() tidies up
        self.keepalive = asyncio.ensure_future(self._keep_registered())
        self.session_checked_at = time.monotonic()
        try:
            async with asyncio.timeout(settings.REDIS_SOCKET_TIMEOUT + 1):  # a frozen Redis: shed, not hang
                await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        except Exception:  # the layer's pool stayed exhausted for REDIS_POOL_TIMEOUT
            logger.exception("group_add failed for %s", user.pk)
            return await self._close(Close.OVERLOADED, retry_after=AuthGate.RETRY_AFTER_SECONDS)
        presence_keeper().track(self)  # registered again if Redis loses its data
        await self._ack(message, user={"id": str(user.pk), "name": user.name}, session=self.session_id)
        resume = await _call(services.mark_connected, self.user)
        if resume:
            await self._send_resume(resume, message.since)

    async def _keep_registered(self):
        """Refresh this socket's presence entry while it is open, whatever the client sends:
        the per-user socket cap counts those entries, so a socket that stays open without
        application pings must not lapse out of the count (and let another one in). A socket
        whose peer is gone is closed by the server's protocol pings, and disconnect() drops
        its entry; a process that dies leaves entries that lapse after ONLINE_TTL_SECONDS."""
        while True:
            await asyncio.sleep(presence.HEARTBEAT_SECONDS)
            try:
                await _redis(presence.touch, self.user.pk, self.channel_name)
            except Exception:  # Redis down: the next round tries again; the entry lapses meanwhile
                logger.warning("presence refresh failed for %s", self.user.pk, exc_info=True)

    async def _send_resume(self, payload: dict, since):
        messages = await _call(selectors.messages_since, payload["room"], since)
        await self.send_json({"type": "room.resume", **payload, "messages": [message_payload(m) for m in messages]})
        self._watch_room(payload["room"])

    async def on_ping(self, message):
        """Presence refreshed; the session re-checked in the database only when that is due
        (SESSION_RECHECK_SECONDS since the last check), so pings cost no database round trip."""
        now = time.monotonic()
        if now - self.session_checked_at >= SESSION_RECHECK_SECONDS:
            if not await _call(session_still_valid, self.session_id, ip=client_ip_from_scope(self.scope)):
                return await self._close(Close.SESSION_INVALIDATED)
            self.session_checked_at = now
        await _redis(presence.touch, self.user.pk, self.channel_name)
        await self._ack(message)

    async def on_presence_set(self, message):
        self.availability = (message.available, tuple(message.modes))
        self.reported_available = None
        await _redis(presence.set_available, self.user.pk, message.available, tuple(message.modes))
        await self._ack(message, available=message.available, modes=list(message.modes))
        self._broadcast_presence(online=True, available=message.available)

    async def on_presence_state(self, message):
        """The client's pages' state; the server decides how long that keeps the person
        available (chat/presence_state.py)."""
        said = bool(self.availability and self.availability[0])
        was = said if self.reported_available is None else self.reported_available
        self.reported, ack = await _call(presence_state.handle_report, self.user.pk, message, self.availability)
        self.reported_available = ack["available"]
        await self._ack(message, **ack)
        if ack["available"] != was:  # others' reels re-read (a hint; the reel reads the rule itself)
            self._broadcast_presence(online=True, available=ack["available"])

    def _broadcast_presence(self, *, online: bool, available: bool):
        _presence_batch(self.channel_layer).add(str(self.user.pk), online=online, available=available)

    async def on_call_invite(self, message):
        invite = await _call(services.send_invite, self.user, to=message.to, mode=message.mode, seconds=message.seconds)
        await self._ack(message, invite=str(invite.pk), expires_at=invite.expires_at.isoformat())
        self._later(
            (invite.expires_at - timezone.now()).total_seconds() + 0.2, services.expire_overdue_invites, invite.pk
        )

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
        self._watch_room(str(room.pk), first_deadline=room.next_deadline())

    async def on_call_decline(self, message):
        await _call(services.decline_invite, self.user, invite_id=message.invite)
        await self._ack(message)

    async def on_call_cancel(self, message):
        await _call(services.cancel_invite, self.user, invite_id=message.invite)
        await self._ack(message)

    async def _relay(self, message, event: dict):
        partner = await _call(services.relay_target, self.user, room_id=message.room)
        event = {**event, "room": str(message.room), "from": str(self.user.pk)}
        await realtime.deliver([([str(partner)], event)])

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
        result = await _call(services.end_room_by_member, self.user, room_id=message.room)
        await self._ack(message, room=str(result.room_id), already_ended=not result.ended_now)

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
        timer = outbound.room_timer_of(kind)  # what the event means for the room's timer (chat/outbound.py)
        if timer is RoomTimer.WATCH:
            self._watch_room(event["room"], first_deadline=_started_room_deadline(event))
        elif timer is RoomTimer.REARM and event.get("room"):
            self._watch_room(event["room"], rearm=True)
        elif timer is RoomTimer.STOP and event.get("room") == self.room_id and self.room_watch:
            self.room_watch.cancel()
            self.room_id = None

    # --- room timer ---------------------------------------------------------------------------

    def _watch_room(self, room_id: str, *, rearm: bool = False, first_deadline: datetime | None = None):
        """Wake at the room's next deadline and let the service act (end, warn). A process runs
        one timer per room however many of its sockets are in it (RoomTimers); the service is
        idempotent across processes, and the beat sweep is the backstop."""
        if self.room_watch and self.room_id == room_id and not rearm and not self.room_watch.done():
            return
        if self.room_watch:
            self.room_watch.cancel()
        self.room_id = room_id
        self.room_watch = _room_timers().watch(room_id, rearm=rearm, first_deadline=first_deadline)
