"""The client's IP address, trusting X-Forwarded-For only as far as our own proxies."""

from ipaddress import ip_address

from django.conf import settings


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


def client_ip_from_scope(scope: dict) -> str | None:
    """The same rule for an ASGI (WebSocket) scope."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    client = scope.get("client") or (None, None)
    return client_ip({"REMOTE_ADDR": client[0] or "", "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for", "")})
