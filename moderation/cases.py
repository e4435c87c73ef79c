"""Cases: every report about a person joins their one open case, the queue's unit. open_case
is the one way a report is filed, by a member (moderation.reports) or by automatic screening
(reporter None); it weighs the report (moderation.trust), raises the case's priority and
fires the automatic temporary ban when the weighted evidence reaches AUTO_BAN_WEIGHT."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.selectors import is_banned
from audit.services import record_audit
from config.errors import NotFound, RateLimited
from moderation import trust
from moderation.enforcement import end_call_and_sessions_of_banned, lock_with_partner, session_ips, set_ban_status
from moderation.errors import AlreadyReported
from moderation.models import URGENT_CATEGORIES, Case, Report, Strike, UserBan
from moderation.strikes import AUTO_BAN_REASON, record_strike

logger = logging.getLogger("rendezvous.audit")

REPORT_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class ReportResult:
    report: Report
    case: Case
    banned: bool  # this report crossed the threshold (never shown to the reporter)


def check_report_allowed(reporter: User, reported: User, *, now) -> None:
    """One report per (reporter, reported); REPORTS_PER_DAY per reporter in any 24 hours."""
    if Report.objects.filter(reporter=reporter, reported=reported).exists():
        raise AlreadyReported()
    window = Report.objects.filter(reporter=reporter, created_at__gt=now - REPORT_WINDOW)
    if window.count() >= settings.REPORTS_PER_DAY:
        oldest = window.order_by("created_at").values_list("created_at", flat=True).first()
        retry = (oldest + REPORT_WINDOW - now).total_seconds()
        raise RateLimited(f"At most {settings.REPORTS_PER_DAY} reports a day.", retry_after=int(retry) + 1)


@transaction.atomic(durable=True)
def open_case(reported: User, **fields) -> ReportResult:
    """The outermost use case (POST /api/reports, a script): file_into_case in its own
    transaction. Same arguments."""
    return file_into_case(reported, **fields)


@transaction.atomic(savepoint=False)
def file_into_case(
    reported: User,
    *,
    source: str,
    category: str,
    evidence: dict | None = None,
    reporter: User | None = None,
    text: str = "",
    room=None,
    ip: str | None = None,
    selfie: str = "",
    video: str = "",
    messages: list | None = None,
) -> ReportResult:
    """File one report into the reported person's open case (created if none), weigh it, and
    ban temporarily if the case's weighted evidence reaches AUTO_BAN_WEIGHT; in the caller's
    transaction (screening files its cases inside the transaction that found them).

    A system report (automatic screening) has no reporter, source "screening" and the
    screening's findings in `evidence`. The reported user's row is locked first (with the
    reporter and a live partner, in pk order): reports about one person are filed one after
    the other, so exactly one crosses the threshold and there is one open case."""
    users = lock_with_partner(reported.pk, *([reporter.pk] if reporter else []))
    reported = users.get(str(reported.pk))
    if reported is None or not reported.is_active:  # deleted while the evidence was copied
        raise NotFound("No such user.", fields={"reported_user_id": ["No such user."]})
    now = timezone.now()
    if reporter is not None:
        check_report_allowed(reporter, reported, now=now)
    standing = trust.standing_of(reporter, now=now, had_call=room is not None or reporter is None)
    case = Case.objects.filter(reported=reported, status=Case.Status.OPEN).first()
    if case is None:
        case = Case.objects.create(reported=reported, reported_name=reported.name, opened_at=now)
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
                messages_snapshot=messages or [],
                created_at=now,
                source=source,
                evidence=evidence or {},
                case=case,
                weight=standing.weight,
            )
    except IntegrityError as exc:
        raise AlreadyReported() from exc
    reports = refresh_case(case)
    record_audit(
        "report.created",
        actor=reporter,
        target=reported,
        ip=ip,
        details={
            "report": report.pk,
            "category": category,
            "source": source,
            "room": str(room.pk) if room else None,
            "case": case.pk,
            "weight": standing.weight,
            "case_weight": case.weight,
        },
    )
    banned = _auto_ban_if_due(reported, case, reports, now=now)
    return ReportResult(report=report, case=case, banned=banned)


def counted_reports(case: Case):
    """The reports that weigh: not yet decided nor reviewed (a vindication marks them
    reviewed), and, for members' reports, whose reporter still has an account."""
    return Report.objects.filter(
        Q(source=Report.Source.SCREENING) | Q(reporter__isnull=False),
        case=case,
        outcome=Report.Outcome.PENDING,
        reviewed=False,
    )


def refresh_case(case: Case) -> list[Report]:
    """Recompute the open case's weighted evidence and urgency (on `case` too) from its counted
    reports, which it returns (the caller holds the reported user's lock: they stay current)."""
    reports = list(counted_reports(case).select_related("reporter").order_by("pk"))
    weight = trust.weighted_evidence(reports)
    urgent = any(r.category in URGENT_CATEGORIES for r in reports)
    Case.objects.filter(pk=case.pk).update(weight=weight, urgent=urgent)
    case.weight, case.urgent = weight, urgent
    return reports


def _auto_ban_if_due(user: User, case: Case, reports: list[Report], *, now) -> bool:
    count = len(reports)
    if is_banned(user, now):
        UserBan.objects.filter(user=user, review_status=UserBan.ReviewStatus.PENDING).update(report_count=count)
        return False
    if case.weight < settings.AUTO_BAN_WEIGHT:
        return False
    ips = session_ips(user)
    reason = f"{count} reports, weighted evidence {case.weight:g} (threshold {settings.AUTO_BAN_WEIGHT:g})"
    UserBan.objects.update_or_create(
        user=user,
        defaults={
            "status": UserBan.Status.TEMPORARY,
            "reason": reason,
            "report_count": count,
            "banned_at": now,
            "review_status": UserBan.ReviewStatus.PENDING,
            "reviewed_at": None,
            "reviewed_by": None,
            "ip_addresses": ips,
        },
    )
    set_ban_status(user, User.BanStatus.TEMPORARY)
    end_call_and_sessions_of_banned(user, ban_status=User.BanStatus.TEMPORARY)
    record_strike(user, action=Strike.Action.SUSPENSION, reason=AUTO_BAN_REASON, case=case, reports=reports, now=now)
    record_audit(
        "ban.temporary",
        target=user,
        details={"reports": count, "case": case.pk, "weight": case.weight, "ip_addresses": ips},
    )
    logger.warning("user %s temporarily banned: %s", user.pk, reason, extra={"event": "ban.temporary"})
    return True
