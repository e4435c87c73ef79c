"""The WebSocket sign-in: the token, ban and presence checks of one socket in one thread hop,
and the gate that bounds how many run at once per event loop (chat/consumers.py)."""

import asyncio
import weakref

from django.conf import settings

from accounts.selectors import authenticate_token, ensure_not_banned
from chat import presence
from config.db_threads import db_call


class PresenceUnavailable(Exception):
    """Redis refused the socket's presence registration (unreachable, or its pool stayed
    exhausted for REDIS_POOL_TIMEOUT)."""


def _sign_in(token: str, ip, channel_name: str | None, limit: int | None):
    """The connect path's checks in one thread hop (each hop waits for the GIL behind a busy
    event loop): the token, the user's ban, then the socket's presence entry under the per-user
    limit. Returns (the Authenticated result, whether the socket got a place)."""
    result = authenticate_token(token, ip=ip)
    ensure_not_banned(result.user)
    if channel_name is None:
        return result, True
    try:
        return result, presence.register(result.user.pk, channel_name, limit=limit)
    except Exception as exc:
        raise PresenceUnavailable from exc


async def _authenticate(token: str, ip, channel_name: str | None = None, limit: int | None = None):
    return await db_call(_sign_in, token, ip, channel_name, limit)


class Overloaded(Exception):
    pass


class AuthGate:
    """Token checks of one event loop (one ASGI process): at most WS_AUTH_CONCURRENCY at once
    (each on a database thread, config.db_threads). The rest wait in line (first come, first served). A socket is shed
    (4013 `overloaded`, with a retry hint) only when the line is longer than WS_AUTH_QUEUE_MAX
    or its wait passes WS_AUTH_QUEUE_SECONDS: never because its client was slow or the
    server was busy for a few seconds."""

    RETRY_AFTER_SECONDS = 5  # the hint; clients add jitter (static/rdv/app.js)

    def __init__(self):
        self.slots = asyncio.Semaphore(settings.WS_AUTH_CONCURRENCY)
        self.waiting = 0

    async def run(self, fn, *args):
        if self.waiting >= settings.WS_AUTH_QUEUE_MAX:
            raise Overloaded
        self.waiting += 1
        try:
            async with asyncio.timeout(settings.WS_AUTH_QUEUE_SECONDS):
                await self.slots.acquire()
        except TimeoutError:
            raise Overloaded from None
        finally:
            self.waiting -= 1
        try:
            return await fn(*args)
        finally:
            self.slots.release()


_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AuthGate]" = weakref.WeakKeyDictionary()


def _auth_gate() -> AuthGate:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = AuthGate()
    return gate
