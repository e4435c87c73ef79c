"""The client's IP address, trusting X-Forwarded-For only as far as our own proxies.

This module is the only reader of forwarding headers. The ASGI server must hand us the TCP
peer untouched (uvicorn: --no-proxy-headers, as `make run` starts it); ForwardedClientGuard
refuses requests whose peer a server in front evidently rewrote from a header we do not trust."""

import json
import logging
from ipaddress import ip_address

from django.conf import settings

from config.asgi_json import send_json

logger = logging.getLogger(__name__)


def _valid(value: str) -> str | None:
    try:
        return str(ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(meta: dict) -> str | None:
    """REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies append to X-Forwarded-For: then the entry
    that many places from the right (the address our outermost proxy saw). Never the first
    entry, which the client writes itself."""
    remote = _valid(meta.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    chain = [part for part in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
    if len(chain) < proxies:
        return remote
    return _valid(chain[-proxies]) or remote


def request_ip(request) -> str | None:
    """client_ip of a Django/DRF request."""
    return client_ip(request.META)


USER_AGENT_MAX_CHARS = 512  # the sessions / scan attempts column


def user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_CHARS]


def _forwarded_for(scope: dict) -> str:
    """Every X-Forwarded-For header of an ASGI scope, joined in order (as Django joins them)."""
    return ", ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for")


def client_ip_from_scope(scope: dict) -> str | None:
    """The same rule for an ASGI (WebSocket) scope."""
    client = scope.get("client") or (None, None)
    return client_ip({"REMOTE_ADDR": client[0] or "", "HTTP_X_FORWARDED_FOR": _forwarded_for(scope)})


def peer_taken_from_forwarded_for(scope: dict) -> bool:
    """With no trusted proxy, a peer address that is one of the X-Forwarded-For entries was put
    there by a server that believed the header (uvicorn's proxy_headers, a misconfigured front
    server): the real peer is lost, and the address is whatever the client chose."""
    if settings.TRUSTED_PROXY_COUNT > 0:
        return False  # client_ip reads the chain itself; the peer only matters for short chains
    peer = _valid((scope.get("client") or ("",))[0] or "")
    if peer is None:
        return False
    return any(_valid(entry) == peer for entry in _forwarded_for(scope).split(",") if entry.strip())


REWRITTEN_PEER_BODY = {
    "error": {
        "code": "forwarded_for_refused",
        "message": "X-Forwarded-For is not accepted by this server.",
    }
}


class ForwardedClientGuard:
    """ASGI middleware: refuses (HTTP 400 with our error body, WebSocket handshake refused) a
    request whose peer address evidently came from X-Forwarded-For (see
    peer_taken_from_forwarded_for), so a forged header can never choose the client IP, even
    when the server in front is set up wrongly. Logs what to fix."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and peer_taken_from_forwarded_for(scope):
            logger.error(
                "refused a %s request: its peer address %s came from X-Forwarded-For, which this"
                " server does not trust (TRUSTED_PROXY_COUNT=0); start uvicorn with --no-proxy-headers",
                scope["type"],
                (scope.get("client") or ("?",))[0],
                extra={"event": "forwarded_peer.refused"},
            )
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send_json(send, 400, json.dumps(REWRITTEN_PEER_BODY).encode())
            return
        await self.app(scope, receive, send)
