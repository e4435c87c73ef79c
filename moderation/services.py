"""Moderation writes (SPEC §7). Every moderation action, ban, wipe, export and security event
writes one audit_log row in the same transaction as the action (record_audit) and a log line.

The API (reports) and the admin (moderator actions) call these functions; nothing else
changes users.ban_status, user_bans or ip_bans."""

import ipaddress
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_may_act
from accounts.selectors import BANNED_STATUSES
from audit.services import record_audit
from config.errors import NotFound
from moderation import strikes
from moderation.enforcement import end_call_and_sessions_of_banned, lock_with_partner, session_ips, set_ban_status
from moderation.errors import InvalidIPAddress, NotBanned
from moderation.models import IPBan, Report, SiteSettings, Strike, UserBan

# The report path lives in moderation.reports (and the case it opens in moderation.cases).
from moderation.reports import report_tally, submit_report  # noqa: F401
from moderation.roles import ensure_moderators_group

logger = logging.getLogger("rendezvous.audit")


# --- moderator actions ---------------------------------------------------------------------


def locked_target(user_id) -> User:
    users = lock_with_partner(user_id)
    user = users.get(str(user_id))
    if user is None:
        raise NotFound("No such user.")
    return user


@transaction.atomic(durable=True)
def ban_permanently(user_id, *, moderator, reason: str = "", ip: str | None = None) -> UserBan:
    """Permanent ban after review: ban_status permanent, the record reviewed by `moderator`,
    the user's reports reviewed, every address of their sessions (and those noted at the
    temporary ban) IP-banned for PERMANENT_BAN_IP_DAYS (a longer existing ban is kept);
    sessions, sockets and a live room end as for the temporary ban."""
    user = locked_target(user_id)
    record = apply_permanent_ban(user, moderator=moderator, reason=reason, ip=ip)
    # The review page's ban (outside a case) is a strike too; the automatic one it confirms gives way.
    now = timezone.now()
    strikes.supersede_automatic(user, now=now)
    strikes.record_strike(user, action=Strike.Action.BAN, reason=record.reason, moderator=moderator, now=now, ip=ip)
    return record


@transaction.atomic(savepoint=False)
def apply_permanent_ban(user: User, *, moderator, reason: str = "", ip: str | None = None) -> UserBan:
    """ban_permanently's work on an already locked user, inside the caller's transaction (a
    case action adds its strike and closes the case in the same one)."""
    ensure_may_act(moderator, user)
    now = timezone.now()
    record = UserBan.objects.select_for_update().filter(user=user).first()
    previous = user.ban_status
    ips = sorted(set(session_ips(user)) | set(record.ip_addresses if record else []))
    tally = report_tally(user)
    UserBan.objects.update_or_create(
        user=user,
        defaults={
            "status": UserBan.Status.PERMANENT,
            "reason": (reason or (record.reason if record else "") or "banned by a moderator")[:500],
            "report_count": max(tally["reports"], record.report_count if record else 0),
            "banned_at": record.banned_at if record and previous in BANNED_STATUSES else now,
            "review_status": UserBan.ReviewStatus.REVIEWED,
            "reviewed_at": now,
            "reviewed_by": moderator,
            "ip_addresses": ips,
        },
    )
    Report.objects.filter(reported=user, reviewed=False).update(reviewed=True)
    expires_at = now + timedelta(days=settings.PERMANENT_BAN_IP_DAYS)
    skipped = [address for address in ips if _exempt(address)]
    ips = [address for address in ips if address not in skipped]
    for address in ips:
        _upsert_ip_ban(address, user=user, moderator=moderator, reason="permanent ban", expires_at=expires_at)
    set_ban_status(user, User.BanStatus.PERMANENT)
    end_call_and_sessions_of_banned(user, ban_status=User.BanStatus.PERMANENT)
    record_audit(
        "ban.permanent",
        actor=moderator,
        target=user,
        ip=ip,
        details={
            "previous_status": previous,
            "ip_bans": ips,
            "ip_ban_expires_at": expires_at.isoformat(),
            "ip_bans_skipped": skipped,
        },
    )
    logger.warning(
        "user %s permanently banned by %s; IP bans %s", user.pk, moderator.pk, ips, extra={"event": "ban.permanent"}
    )
    return UserBan.objects.get(user=user)


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


def clear_ban(user: User, *, moderator, new_status: str, event: str, ip) -> dict:
    ensure_may_act(moderator, user)
    record = UserBan.objects.select_for_update().filter(user=user).first()
    if record is None and user.ban_status not in BANNED_STATUSES:
        raise NotBanned()
    previous = user.ban_status
    reviewed = Report.objects.filter(reported=user, reviewed=False).update(reviewed=True)
    lifted = sorted(IPBan.objects.filter(user=user).values_list("ip", flat=True))
    IPBan.objects.filter(user=user).delete()
    set_ban_status(user, new_status)
    details = {"previous_status": previous, "reports_reviewed": reviewed, "ip_bans_lifted": lifted}
    record_audit(event, actor=moderator, target=user, ip=ip, details=details)
    logger.warning("%s of user %s by %s", event, user.pk, moderator.pk, extra={"event": f"moderation.{event}"})
    return details


@transaction.atomic(durable=True)
def vindicate(user_id, *, moderator, ip: str | None = None) -> UserBan:
    """The reports were wrong: ban lifted (ban_status vindicated), the record reviewed, the
    reports marked reviewed (they no longer count towards a ban), IP bans tied to the user lifted."""
    user = locked_target(user_id)
    clear_ban(user, moderator=moderator, new_status=User.BanStatus.VINDICATED, event="ban.vindicated", ip=ip)
    now = timezone.now()
    strikes.overturn_automatic(user, now=now)
    reviewed = {
        "status": UserBan.Status.VINDICATED,
        "review_status": UserBan.ReviewStatus.REVIEWED,
        "reviewed_at": now,
        "reviewed_by": moderator,
    }
    record, _ = UserBan.objects.update_or_create(
        user=user, defaults=reviewed, create_defaults={**reviewed, "reason": "vindicated", "banned_at": now}
    )
    return record


@transaction.atomic(durable=True)
def unban(user_id, *, moderator, ip: str | None = None) -> None:
    """Lift a ban (e.g. after an appeal): ban_status none, the ban record removed (the audit
    log keeps its history), reports marked reviewed, IP bans tied to the user lifted."""
    user = locked_target(user_id)
    clear_ban(user, moderator=moderator, new_status=User.BanStatus.NONE, event="ban.lifted", ip=ip)
    UserBan.objects.filter(user=user).delete()


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


@transaction.atomic(durable=True)
def set_open_signup(enabled: bool, *, moderator, ip: str | None = None) -> SiteSettings:
    """Toggle open sign-up (SPEC §4) with an audit row; a no-op change writes nothing."""
    SiteSettings.objects.get_or_create(id=1)
    row = SiteSettings.objects.select_for_update().get(id=1)
    if row.open_signup == bool(enabled):
        return row
    row.open_signup = bool(enabled)
    row.save(update_fields=["open_signup", "updated_at"])
    record_audit("site_settings.open_signup", actor=moderator, ip=ip, details={"open_signup": row.open_signup})
    logger.warning(
        "open sign-up %s by %s",
        "on" if row.open_signup else "off",
        getattr(moderator, "pk", None),
        extra={"event": "open_signup.changed"},
    )
    return row


@transaction.atomic(durable=True)
def make_moderator(email: str, *, remove: bool = False) -> User:
    """Staff in the `moderators` group (whose permissions are reset to the exact list), or the
    reverse. The account must exist and have a password to log in to the admin with."""
    user = User.objects.select_for_update().filter(email=(email or "").strip().lower()).first()
    if user is None:
        raise LookupError(f"no account with email {email!r}")
    group = ensure_moderators_group()
    if remove:
        user.groups.remove(group)
        user.is_staff = user.is_superuser
    else:
        user.groups.add(group)
        user.is_staff = True
    user.save(update_fields=["is_staff", "updated_at"])
    record_audit("moderator.removed" if remove else "moderator.added", target=user, details={"email": user.email})
    return user


@transaction.atomic(durable=True)
def set_report_reviewed(report_id, *, reviewed: bool, moderator, ip: str | None = None) -> Report:
    """A moderator marks one report reviewed (or not) outside a ban decision; audited. A
    reviewed report no longer counts towards the automatic ban."""
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise NotFound("No such report.")
    if report.reviewed != bool(reviewed):
        Report.objects.filter(pk=report.pk).update(reviewed=bool(reviewed))
        report.reviewed = bool(reviewed)
        record_audit(
            "report.reviewed" if reviewed else "report.reopened",
            actor=moderator,
            target=report.reported,
            ip=ip,
            details={"report": report.pk},
        )
    return report
