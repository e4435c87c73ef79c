"""Moderation writes (SPEC §7). Every moderation action, ban, wipe, export and security event
writes one audit_log row in the same transaction as the action (record_audit) and a log line.

The API (reports) and the admin (moderator actions) call these functions; nothing else
changes users.ban_status, user_bans or ip_bans."""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.permissions import ensure_may_act
from accounts.selectors import BANNED_STATUSES
from accounts.services.locks import lock_users
from accounts.services.sessions import revoke_all_sessions
from audit.services import record_audit
from chat.models import ActiveRoom, ChatHistory, TextChatMessage
from chat.selectors import live_room_id_of, message_snapshot
from chat.services import end_live_room_of
from config.errors import NotFound, RateLimited
from config.realtime import send_to_users
from moderation import evidence
from moderation.errors import (
    AlreadyReported,
    CannotReport,
    CannotReportSelf,
    InvalidIPAddress,
    NotBanned,
)
from moderation.models import IPBan, Report, SiteSettings, UserBan
from moderation.roles import ensure_moderators_group

logger = logging.getLogger("rendezvous.audit")

REPORT_WINDOW = timedelta(days=1)


# --- helpers -------------------------------------------------------------------------------


def _live_partner_id(user_id):
    """The partner in the user's live room, if any: locked with the user up front, so ending
    the room inside our transaction takes no lock out of order (no deadlock with the partner)."""
    room_id = live_room_id_of(user_id)
    room = ActiveRoom.objects.filter(pk=room_id).only("user_1_id", "user_2_id").first() if room_id else None
    return room.partner_id(user_id) if room else None


def _lock_with_partner(*user_ids) -> dict:
    partners = [_live_partner_id(user_id) for user_id in user_ids]
    return lock_users(*user_ids, *partners)


def _session_ips(user) -> list[str]:
    rows = AuthSession.objects.filter(user=user, ip__isnull=False).values_list("ip", flat=True).distinct()
    return sorted(set(rows))


def _end_call_and_sessions_of_banned(user: User, *, ban_status: str) -> None:
    """End the live room as "banned", close sockets with reason "banned" (the `banned` push
    comes before `session_invalidated`, so the socket closes 4003 banned) and deactivate
    every session. In the caller's transaction; pushes after commit."""
    end_live_room_of(user.pk, reason=ActiveRoom.EndReason.BANNED)
    send_to_users([user.pk], {"type": "banned", "ban_status": ban_status})
    revoke_all_sessions(user, reason="banned")


def _set_ban_status(user: User, status: str) -> None:
    User.objects.filter(pk=user.pk).update(ban_status=status, updated_at=timezone.now())
    user.ban_status = status


# --- reports -------------------------------------------------------------------------------


def _shared_room(reporter: User, reported: User, room_id):
    """The room (live or ended) both were in: the given one, else their latest."""
    rooms = ActiveRoom.objects.filter(
        Q(user_1=reporter, user_2=reported) | Q(user_1=reported, user_2=reporter)
    ).order_by("-started_at")
    if room_id:
        return rooms.filter(pk=room_id).first()
    return rooms.first()


def _room_messages(room, reporter: User) -> list[dict]:
    """The room's messages, deleted ones included (flagged: evidence); after retention moved
    them to the archive, the reporter's chat_history copy."""
    if room is None:
        return []
    rows = TextChatMessage.objects.filter(room=room).order_by("pk")
    messages = [{**message_snapshot(m), "deleted": m.deleted} for m in rows]
    if messages:
        return messages
    history = ChatHistory.objects.filter(room=room, user=reporter).values_list("messages", flat=True).first()
    return list(history or [])


def _check_report_allowed(reporter: User, reported: User, *, now) -> None:
    if Report.objects.filter(reporter=reporter, reported=reported).exists():
        raise AlreadyReported()
    window = Report.objects.filter(reporter=reporter, created_at__gt=now - REPORT_WINDOW)
    if window.count() >= settings.REPORTS_PER_DAY:
        oldest = window.order_by("created_at").values_list("created_at", flat=True).first()
        retry = (oldest + REPORT_WINDOW - now).total_seconds()
        raise RateLimited(f"At most {settings.REPORTS_PER_DAY} reports a day.", retry_after=int(retry) + 1)


@dataclass(frozen=True)
class ReportResult:
    report: Report
    banned: bool  # this report crossed the threshold (never shown to the reporter)


def submit_report(reporter: User, *, reported_id, category: str, text: str = "", room_id=None, ip=None):
    """File a report (SPEC §7): about someone the reporter shared a room with (any room, live
    or ended), or, with category "profile", about a user whose selfie/video the reel shows.
    One per (reporter, reported), 20 per reporter per day. The evidence files are copied
    first (slow I/O outside the transaction); then one transaction files the report and,
    if it crosses the threshold, bans (see _file_report)."""
    reported = User.objects.filter(pk=reported_id, is_active=True).first()
    if reported is None:
        raise NotFound("No such user.", fields={"reported_user_id": ["No such user."]})
    if reported.pk == reporter.pk:
        raise CannotReportSelf(fields={"reported_user_id": ["You cannot report yourself."]})
    room = _shared_room(reporter, reported, room_id)
    if room_id and room is None:
        raise CannotReport("You were not in that room with this person.")
    if room is None and not (category == Report.Category.PROFILE and (reported.selfie or reported.video)):
        raise CannotReport()
    _check_report_allowed(reporter, reported, now=timezone.now())  # cheap early refusal; re-checked under lock
    selfie = evidence.preserve(reported.selfie.name if reported.selfie else "")
    video = evidence.preserve(reported.video.name if reported.video else "")
    return _file_report(
        reporter,
        reported,
        category=category,
        text=text,
        room=room,
        ip=ip,
        selfie=selfie,
        video=video,
        messages=_room_messages(room, reporter),
    )


@transaction.atomic(durable=True)
def _file_report(reporter, reported, *, category, text, room, ip, selfie, video, messages) -> ReportResult:
    """The report and the ban it may trigger are one transaction. The reported user's row is
    locked first (with the reporter and a live partner, in pk order), so two concurrent
    reports are counted one after the other: exactly one of them crosses the threshold."""
    users = _lock_with_partner(reported.pk, reporter.pk)
    reported = users.get(str(reported.pk))
    if reported is None or not reported.is_active:  # deleted while the evidence was copied
        raise NotFound("No such user.", fields={"reported_user_id": ["No such user."]})
    now = timezone.now()
    _check_report_allowed(reporter, reported, now=now)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reported=reported,
                reporter=reporter,
                category=category,
                text=text,
                room=room,
                reporter_ip=ip,
                reported_name=reported.name,
                reported_selfie=selfie,
                reported_video=video,
                messages_snapshot=messages,
                created_at=now,
            )
    except IntegrityError as exc:
        raise AlreadyReported() from exc
    record_audit(
        "report.created",
        actor=reporter,
        target=reported,
        ip=ip,
        details={"report": report.pk, "category": category, "room": str(room.pk) if room else None},
    )
    banned = _auto_ban_if_due(reported, now=now)
    return ReportResult(report=report, banned=banned)


def report_tally(user) -> dict:
    """Distinct reporters and reporter IPs among the user's unreviewed reports (a vindication
    marks reports reviewed, so they stop counting)."""
    return Report.objects.filter(reported=user, reviewed=False).aggregate(
        reports=Count("id"),
        reporters=Count("reporter", distinct=True),
        ips=Count("reporter_ip", distinct=True),
    )


def _auto_ban_if_due(user: User, *, now) -> bool:
    tally = report_tally(user)
    if user.ban_status in BANNED_STATUSES:
        UserBan.objects.filter(user=user, review_status=UserBan.ReviewStatus.PENDING).update(
            report_count=tally["reports"]
        )
        return False
    if tally["reporters"] < settings.AUTO_BAN_REPORTERS or tally["ips"] < settings.AUTO_BAN_DISTINCT_IPS:
        return False
    ips = _session_ips(user)
    reason = f"{tally['reports']} reports from {tally['reporters']} people ({tally['ips']} networks)"
    UserBan.objects.update_or_create(
        user=user,
        defaults={
            "status": UserBan.Status.TEMPORARY,
            "reason": reason,
            "report_count": tally["reports"],
            "banned_at": now,
            "review_status": UserBan.ReviewStatus.PENDING,
            "reviewed_at": None,
            "reviewed_by": None,
            "ip_addresses": ips,
        },
    )
    _set_ban_status(user, User.BanStatus.TEMPORARY)
    _end_call_and_sessions_of_banned(user, ban_status=User.BanStatus.TEMPORARY)
    record_audit("ban.temporary", target=user, details={**tally, "ip_addresses": ips})
    logger.warning("user %s temporarily banned: %s", user.pk, reason, extra={"event": "ban.temporary"})
    return True


# --- moderator actions ---------------------------------------------------------------------


def _locked_target(user_id) -> User:
    users = _lock_with_partner(user_id)
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
    user = _locked_target(user_id)
    ensure_may_act(moderator, user)
    now = timezone.now()
    record = UserBan.objects.select_for_update().filter(user=user).first()
    previous = user.ban_status
    ips = sorted(set(_session_ips(user)) | set(record.ip_addresses if record else []))
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
    _set_ban_status(user, User.BanStatus.PERMANENT)
    _end_call_and_sessions_of_banned(user, ban_status=User.BanStatus.PERMANENT)
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


def _clear_ban(user: User, *, moderator, new_status: str, event: str, ip) -> dict:
    ensure_may_act(moderator, user)
    record = UserBan.objects.select_for_update().filter(user=user).first()
    if record is None and user.ban_status not in BANNED_STATUSES:
        raise NotBanned()
    previous = user.ban_status
    reviewed = Report.objects.filter(reported=user, reviewed=False).update(reviewed=True)
    lifted = sorted(IPBan.objects.filter(user=user).values_list("ip", flat=True))
    IPBan.objects.filter(user=user).delete()
    _set_ban_status(user, new_status)
    details = {"previous_status": previous, "reports_reviewed": reviewed, "ip_bans_lifted": lifted}
    record_audit(event, actor=moderator, target=user, ip=ip, details=details)
    logger.warning("%s of user %s by %s", event, user.pk, moderator.pk, extra={"event": f"moderation.{event}"})
    return details


@transaction.atomic(durable=True)
def vindicate(user_id, *, moderator, ip: str | None = None) -> UserBan:
    """The reports were wrong: ban lifted (ban_status vindicated), the record reviewed, the
    reports marked reviewed (they no longer count towards a ban), IP bans tied to the user lifted."""
    user = _locked_target(user_id)
    _clear_ban(user, moderator=moderator, new_status=User.BanStatus.VINDICATED, event="ban.vindicated", ip=ip)
    now = timezone.now()
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
    user = _locked_target(user_id)
    _clear_ban(user, moderator=moderator, new_status=User.BanStatus.NONE, event="ban.lifted", ip=ip)
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
