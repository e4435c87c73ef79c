"""The moderators' queue: reads (open cases in priority order, a case's evidence, the queue's
age) and the hourly service-level reminder."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.models import User
from moderation import trust
from moderation.models import Case, Report, Strike
from moderation.roles import MODERATORS_GROUP

logger = logging.getLogger("rendezvous.audit")


def list_queue():
    """Open cases: minors and threats first, then weighted evidence, then the oldest (the
    partial index moderation_cases_queue), with who claimed each."""
    return (
        Case.objects.filter(status=Case.Status.OPEN)
        .select_related("reported", "claimed_by")
        .order_by("-urgent", "-weight", "opened_at", "pk")
    )


def get_case_evidence(case: Case) -> dict:
    """What the moderator sees: each report with its snapshot (messages, selfie/video then) and
    its reporter's standing, the linked groups of reporters, and the person's prior strikes."""
    reports = list(Report.objects.filter(case=case).select_related("reporter").order_by("created_at", "pk"))
    pending = [r for r in reports if r.outcome == Report.Outcome.PENDING]
    groups = [
        [r.reporter.name if r.reporter else "screening" for r in group]
        for group in trust.link_groups(pending)
        if len(group) > 1
    ]
    prior = Strike.objects.filter(user_id=case.reported_id).exclude(case=case).order_by("-created_at")
    return {"reports": reports, "linked_groups": groups, "prior_strikes": list(prior)}


def _past_service_level(now) -> Q:
    """Open for longer than its service level: CASE_SLA_URGENT_HOURS for an urgent case (a
    minor or a threat), CASE_SLA_HOURS otherwise."""
    urgent = Q(urgent=True, opened_at__lte=now - timedelta(hours=settings.CASE_SLA_URGENT_HOURS))
    return urgent | Q(urgent=False, opened_at__lte=now - timedelta(hours=settings.CASE_SLA_HOURS))


def list_overdue(now=None):
    """Open cases past their service level (1 h urgent, 24 h otherwise, by default)."""
    return list_queue().filter(_past_service_level(now or timezone.now()))


def queue_age(now=None) -> dict:
    """For the dashboard and the queue's title, in one query: open cases, urgent ones, those
    past their service level, and the oldest one's age in hours."""
    now = now or timezone.now()
    found = Case.objects.filter(status=Case.Status.OPEN).aggregate(
        n_open=Count("pk"),
        n_urgent=Count("pk", filter=Q(urgent=True)),
        n_overdue=Count("pk", filter=_past_service_level(now)),
        oldest=Min("opened_at"),
    )
    oldest = found["oldest"]
    return {
        "open": found["n_open"],
        "urgent": found["n_urgent"],
        "overdue": found["n_overdue"],
        "oldest_hours": round((now - oldest).total_seconds() / 3600, 1) if oldest else None,
    }


def _moderator_emails() -> list[str]:
    rows = User.objects.filter(
        Q(groups__name=MODERATORS_GROUP) | Q(is_superuser=True), is_active=True, email__isnull=False
    ).values_list("email", flat=True)
    return sorted(set(rows))


def _reminder_line(case: Case, now) -> str:
    hours = (now - case.opened_at).total_seconds() / 3600
    urgent = " (minor or threat)" if case.urgent else ""
    claimed = f", claimed by {case.claimed_by.name}" if case.claimed_by else ""
    return f"- case {case.pk} about {case.reported_name or case.reported_id}: open {hours:.1f} h{urgent}{claimed}"


def remind_overdue_cases(now=None) -> int:
    """Hourly (beat): one email to the moderators listing the open cases past their service
    level that were not reminded in the last hour; the cases are marked reminded by a
    conditional UPDATE first, so two runs side by side send each case once."""
    now = now or timezone.now()
    overdue = list(list_overdue(now).filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=now - timedelta(hours=1))))
    with transaction.atomic():
        claimed = [
            case
            for case in overdue
            if Case.objects.filter(pk=case.pk, status=Case.Status.OPEN, reminded_at=case.reminded_at).update(
                reminded_at=now
            )
        ]
    recipients = _moderator_emails()
    if not claimed or not recipients:
        return 0
    lines = [_reminder_line(case, now) for case in claimed]
    body = "These moderation cases are past their service level:\n\n" + "\n".join(lines)
    send_mail(f"{len(claimed)} moderation case(s) overdue", body, settings.DEFAULT_FROM_EMAIL, recipients)
    logger.info("case reminder sent for %d cases", len(claimed), extra={"event": "moderation.case_reminder"})
    return len(claimed)
