"""A moderator's decisions on a user's ban: permanent (with IP bans), vindicated, lifted."""

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
from moderation.enforcement import (
    end_call_and_sessions_of_banned,
    lock_with_partner,
    session_ips,
    set_ban_status,
)
from moderation.errors import NotBanned, OwnReport
from moderation.models import IPBan, Report, Strike, UserBan
from moderation.services.ip_bans import _exempt, _upsert_ip_ban
from moderation.services.reports import report_tally

logger = logging.getLogger("rendezvous.audit")


def ensure_not_own_report(moderator, user) -> None:
    """Nobody decides about a person they reported themselves (a pending report of theirs)."""
    if Report.objects.filter(reported=user, reporter=moderator, outcome=Report.Outcome.PENDING).exists():
        raise OwnReport()


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
    case decision adds its own strike and closes the case in the same one)."""
    ensure_may_act(moderator, user)
    ensure_not_own_report(moderator, user)
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


def clear_ban(user: User, *, moderator, new_status: str, event: str, ip) -> dict:
    ensure_may_act(moderator, user)
    if moderator is not None:
        ensure_not_own_report(moderator, user)
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
