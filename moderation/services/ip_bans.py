"""IP bans: a moderator's ban and lift of an address, and the upsert a permanent ban uses."""

import ipaddress
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record_audit
from moderation.errors import InvalidIPAddress
from moderation.models import IPBan

logger = logging.getLogger("rendezvous.audit")


def _exempt(address: str) -> bool:
    """Addresses in IP_BAN_EXEMPT_NETWORKS (loopback by default) are never banned automatically."""
    ip = ipaddress.ip_address(address)
    return any(
        ip.version == net.version and ip in net
        for net in (ipaddress.ip_network(n, strict=False) for n in settings.IP_BAN_EXEMPT_NETWORKS)
    )


def _outlasts(current, wanted) -> bool:
    """An existing expiry `current` is at least as long as `wanted` (None = permanent)."""
    return current is None or (wanted is not None and current >= wanted)


def _upsert_ip_ban(address: str, *, user, moderator, reason: str, expires_at) -> IPBan:
    existing = IPBan.objects.select_for_update().filter(ip=address).first()
    if existing and _outlasts(existing.expires_at, expires_at):
        return existing  # an equal or longer ban is already in force
    ban, _ = IPBan.objects.update_or_create(
        ip=address,
        defaults={
            "user": user,
            "reason": reason,
            "banned_at": timezone.now(),
            "banned_by": moderator,
            "expires_at": expires_at,
        },
    )
    return ban


def normalize_ip(raw) -> str:
    try:
        return str(ipaddress.ip_address(str(raw or "").strip()))
    except ValueError as exc:
        raise InvalidIPAddress(fields={"ip": ["That is not a valid IP address."]}) from exc


@transaction.atomic(durable=True)
def ban_ip(raw_ip, *, moderator, reason: str = "", expires_at=None, user=None, ip: str | None = None) -> IPBan:
    """Ban an address until expires_at (None: until lifted). Replaces an existing ban of it."""
    address = normalize_ip(raw_ip)
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise InvalidIPAddress("The expiry must be in the future.", fields={"expires_at": ["Must be in the future."]})
    existing = IPBan.objects.select_for_update().filter(ip=address).first()
    values = {"reason": (reason or "")[:500], "banned_at": now, "banned_by": moderator, "expires_at": expires_at}
    if user is not None or existing is None:
        values["user"] = user
    ban, _ = IPBan.objects.update_or_create(ip=address, defaults=values)
    record_audit(
        "ip_ban.created",
        actor=moderator,
        target=ban.user,
        ip=ip,
        details={"ip_ban": address, "expires_at": expires_at.isoformat() if expires_at else None, "reason": reason},
    )
    logger.warning(
        "IP %s banned by %s until %s",
        address,
        getattr(moderator, "pk", None),
        expires_at,
        extra={"event": "ip_ban.added"},
    )
    return ban


@transaction.atomic(durable=True)
def lift_ip_ban(raw_ip, *, moderator, ip: str | None = None) -> bool:
    address = normalize_ip(raw_ip)
    ban = IPBan.objects.select_for_update().filter(ip=address).first()
    if ban is None:
        return False
    target = ban.user
    ban.delete()
    record_audit("ip_ban.lifted", actor=moderator, target=target, ip=ip, details={"ip_ban": address})
    logger.warning(
        "IP ban of %s lifted by %s", address, getattr(moderator, "pk", None), extra={"event": "ip_ban.lifted"}
    )
    return True
