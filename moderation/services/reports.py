"""Reports: a member's report (POST /api/reports): who may report whom, the evidence kept at
report time, one per pair and 20 a day. The report joins the reported person's open case
(moderation.cases.open_case, the one path for member and screening reports alike, which
weighs it and may ban). Also a moderator marking one report reviewed."""

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from audit.services import record_audit
from chat.models import ActiveRoom, ChatHistory, TextChatMessage
from chat.selectors import message_snapshot
from config.errors import NotFound
from moderation import evidence
from moderation.cases import REPORT_WINDOW, ReportResult, check_report_allowed, open_case
from moderation.errors import CannotReport, CannotReportSelf
from moderation.models import Report

__all__ = ["REPORT_WINDOW", "ReportResult", "report_tally", "set_report_reviewed", "submit_report"]

# What a report may be about without a shared call: what the reel shows (selfie, video).
PROFILE_CATEGORIES = (Report.Category.PROFILE, Report.Category.UNDERAGE)


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


def submit_report(reporter: User, *, reported_id, category: str, text: str = "", room_id=None, ip=None):
    """File a report: about someone the reporter shared a room with (any room, live or
    ended), or, with category "profile" or "underage", about a user whose selfie/video the
    reel shows. The evidence files are copied first (slow I/O outside the transaction); then
    open_case files the report, weighs it and, if the weighted evidence is enough, bans."""
    reported = User.objects.filter(pk=reported_id, is_active=True).first()
    if reported is None:
        raise NotFound("No such user.", fields={"reported_user_id": ["No such user."]})
    if reported.pk == reporter.pk:
        raise CannotReportSelf(fields={"reported_user_id": ["You cannot report yourself."]})
    room = _shared_room(reporter, reported, room_id)
    if room_id and room is None:
        raise CannotReport("You were not in that room with this person.")
    if room is None and not (category in PROFILE_CATEGORIES and (reported.selfie or reported.video)):
        raise CannotReport()
    check_report_allowed(reporter, reported, now=timezone.now())  # cheap early refusal; re-checked under lock
    selfie = evidence.preserve(reported.selfie.name if reported.selfie else "")
    video = evidence.preserve(reported.video.name if reported.video else "")
    return open_case(
        reported,
        source=Report.Source.MEMBER,
        category=category,
        reporter=reporter,
        text=text,
        room=room,
        ip=ip,
        selfie=selfie,
        video=video,
        messages=_room_messages(room, reporter),
    )


def report_tally(user) -> dict:
    """Distinct reporters and reporter IPs among the user's unreviewed reports (a vindication
    marks reports reviewed, so they stop counting)."""
    return Report.objects.filter(reported=user, reviewed=False).aggregate(
        reports=Count("id"),
        reporters=Count("reporter", distinct=True),
        ips=Count("reporter_ip", distinct=True),
    )


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
