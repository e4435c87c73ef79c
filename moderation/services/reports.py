"""Reports: filing one (with its evidence snapshot), the tally the automatic ban counts, the
automatic temporary ban, and a moderator marking a report reviewed."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from accounts.selectors import BANNED_STATUSES
from audit.services import record_audit
from chat.models import ActiveRoom, ChatHistory, TextChatMessage
from chat.selectors import message_snapshot
from config.errors import NotFound, RateLimited
from moderation import evidence
from moderation.errors import (
    AlreadyReported,
    CannotReport,
    CannotReportSelf,
)
from moderation.models import Report, UserBan
from moderation.services.common import (
    _end_call_and_sessions_of_banned,
    _lock_with_partner,
    _session_ips,
    _set_ban_status,
)

logger = logging.getLogger("rendezvous.audit")


REPORT_WINDOW = timedelta(days=1)


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
    """File a report: about someone the reporter shared a room with (any room, live
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
