"""What a moderator does with a case, each one service with its audit line: claim it, write a
note, and decide it in one click (warn, suspend 1/7/30 days, ban, dismiss) with a preset
reason. Deciding closes the case, upholds or rejects its reports, and tells each reporter
the outcome (never the sanction). Nobody decides a case that holds a report of their own."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_may_act
from accounts.selectors import is_banned
from audit.services import record_audit
from config.errors import Conflict, InvalidInput, NotFound
from config.realtime import send_to_users
from moderation.enforcement import end_call_and_sessions_of_banned, set_ban_status
from moderation.errors import OwnReport
from moderation.models import Case, CaseNote, Report, Strike, StrikePreset, UserBan
from moderation.services import bans
from moderation.strikes import overturn_automatic, record_strike, supersede_automatic

SUSPENSION_DAYS = (1, 7, 30)
OUTCOME_MESSAGES = {
    Report.Outcome.UPHELD: "We took action on your report. Thank you for helping keep Rendezvous safe.",
    Report.Outcome.REJECTED: "We reviewed your report and found no violation of the rules.",
}


class CaseClosed(Conflict):
    code = "case_closed"
    message = "This case was already decided."


class Decision:
    WARN = "warn"
    SUSPEND = "suspend"
    BAN = "ban"
    DISMISS = "dismiss"
    ALL = (WARN, SUSPEND, BAN, DISMISS)


@dataclass(frozen=True)
class CaseDecision:
    case: Case
    strike: Strike | None


def _locked_open_case(case_id) -> Case:
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound("No such case.")
    if case.status != Case.Status.OPEN:
        raise CaseClosed()
    return case


@transaction.atomic(durable=True)
def claim_case(case_id, *, moderator, release: bool = False) -> Case:
    """The moderator takes the case (others see who and since when), or gives it back."""
    case = _locked_open_case(case_id)
    case.claimed_by, case.claimed_at = (None, None) if release else (moderator, timezone.now())
    case.save(update_fields=["claimed_by", "claimed_at"])
    record_audit(
        "case.released" if release else "case.claimed", actor=moderator, target=case.reported, details={"case": case.pk}
    )
    return case


@transaction.atomic(durable=True)
def add_case_note(case_id, *, moderator, text: str) -> CaseNote:
    """An internal note (moderators only), on an open or a closed case."""
    text = (text or "").strip()
    if not text or len(text) > CaseNote.MAX_TEXT:
        raise InvalidInput(fields={"text": [f"Write 1 to {CaseNote.MAX_TEXT} characters."]})
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        raise NotFound("No such case.")
    note = CaseNote.objects.create(case=case, author=moderator, text=text)
    record_audit("case.note", actor=moderator, target=case.reported, details={"case": case.pk, "note": note.pk})
    return note


def tell_reporters(reports, outcome: str, *, now) -> None:
    """Each reporter learns the outcome of their report (a notification row: the report's
    outcome, read by GET /api/me/report-outcomes) and gets a live event after commit."""
    for report in reports:
        if report.reporter_id is None:
            continue
        event = {
            "type": "report.outcome",
            "report": report.pk,
            "outcome": outcome,
            "message": OUTCOME_MESSAGES[outcome],
            "decided_at": now.isoformat(),
        }
        send_to_users([report.reporter_id], event)


def _decide_reports(case: Case, outcome: str, *, now) -> list[Report]:
    reports = list(Report.objects.select_for_update().filter(case=case, outcome=Report.Outcome.PENDING))
    Report.objects.filter(pk__in=[r.pk for r in reports]).update(outcome=outcome, outcome_at=now, reviewed=True)
    tell_reporters(reports, outcome, now=now)
    return reports


def _lift_automatic_ban(user: User, *, moderator, ip, event: str) -> None:
    """A moderator decided on less than a ban: the automatic temporary ban is lifted."""
    record = UserBan.objects.filter(user=user, review_status=UserBan.ReviewStatus.PENDING).first()
    if record is not None and user.ban_status == User.BanStatus.TEMPORARY:
        bans.clear_ban(user, moderator=moderator, new_status=User.BanStatus.NONE, event=event, ip=ip)
        UserBan.objects.filter(user=user).delete()


@transaction.atomic(durable=True)
def decide_case(
    case_id,
    *,
    moderator,
    decision: str,
    preset_id=None,
    text: str = "",
    days: int | None = None,
    ip: str | None = None,
) -> CaseDecision:
    """One click on a case. The reported user is locked first (with a live partner), then the
    case row: two moderators deciding at once are serialised, and the second finds the case
    closed (409 case_closed): one outcome."""
    if decision not in Decision.ALL:
        raise InvalidInput(fields={"decision": [f"One of {', '.join(Decision.ALL)}."]})
    if decision == Decision.SUSPEND and days not in SUSPENSION_DAYS:
        raise InvalidInput(fields={"days": ["Suspend for 1, 7 or 30 days."]})
    preset = StrikePreset.objects.filter(pk=preset_id, active=True).first() if preset_id else None
    if preset_id and preset is None:
        raise InvalidInput(fields={"preset": ["No such preset."]})
    if decision != Decision.DISMISS and not (preset or (text or "").strip()):
        raise InvalidInput(fields={"preset": ["Choose a reason or write one."]})
    peek = Case.objects.filter(pk=case_id).values_list("reported_id", flat=True).first()
    if peek is None and not Case.objects.filter(pk=case_id).exists():
        raise NotFound("No such case.")
    user = bans.locked_target(peek) if peek else None
    case = _locked_open_case(case_id)
    if Report.objects.filter(case=case, reporter=moderator).exists():
        raise OwnReport()
    if user is not None:
        ensure_may_act(moderator, user)
    now = timezone.now()
    reason = "\n".join(part for part in ((preset.text if preset else ""), (text or "").strip()) if part)
    strike = None
    if decision == Decision.DISMISS:
        reports = _decide_reports(case, Report.Outcome.REJECTED, now=now)
        if user is not None:
            overturn_automatic(user, now=now)
            _lift_automatic_ban(user, moderator=moderator, ip=ip, event="ban.vindicated")
    else:
        reports = _decide_reports(case, Report.Outcome.UPHELD, now=now)
        if user is None:
            raise NotFound("The reported account no longer exists; dismiss the case or leave it closed.")
        strike = _sanction(user, decision, moderator=moderator, reason=reason, days=days, now=now, ip=ip)
        supersede_automatic(user, now=now)
        strike.preset, strike.case = preset, case
        strike.save(update_fields=["preset", "case"])
        strike.reports.set(reports)
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED,
        closed_at=now,
        closed_by=moderator,
        outcome=Case.Outcome.DISMISSED if decision == Decision.DISMISS else Case.Outcome.ACTIONED,
    )
    record_audit(
        f"case.{decision}",
        actor=moderator,
        target=user,
        ip=ip,
        details={"case": case.pk, "reports": [r.pk for r in reports], "strike": strike.pk if strike else None},
    )
    case.refresh_from_db()
    return CaseDecision(case=case, strike=strike)


def _sanction(user: User, decision: str, *, moderator, reason: str, days, now, ip) -> Strike:
    if decision == Decision.WARN:
        _lift_automatic_ban(user, moderator=moderator, ip=ip, event="ban.lifted")
        return record_strike(user, action=Strike.Action.WARNING, reason=reason, moderator=moderator, now=now, ip=ip)
    if decision == Decision.BAN:
        bans.apply_permanent_ban(user, moderator=moderator, reason=reason[:500], ip=ip)
        return record_strike(user, action=Strike.Action.BAN, reason=reason, moderator=moderator, now=now, ip=ip)
    ends_at = now + timedelta(days=days)
    UserBan.objects.update_or_create(
        user=user,
        defaults={
            "status": UserBan.Status.TEMPORARY,
            "reason": reason[:500],
            "banned_at": now,
            "review_status": UserBan.ReviewStatus.REVIEWED,
            "reviewed_at": now,
            "reviewed_by": moderator,
        },
    )
    if not is_banned(user, now):
        set_ban_status(user, User.BanStatus.TEMPORARY, ends_at=ends_at)
        end_call_and_sessions_of_banned(user, ban_status=User.BanStatus.TEMPORARY)
    else:  # a running suspension holds until the later end; this one replaces any other ban
        running = user.ban_ends_at if user.ban_status == User.BanStatus.TEMPORARY else None
        set_ban_status(user, User.BanStatus.TEMPORARY, ends_at=max(ends_at, running or ends_at))
    return record_strike(
        user, action=Strike.Action.SUSPENSION, reason=reason, moderator=moderator, ends_at=ends_at, now=now, ip=ip
    )


def lift_ended_suspensions(now=None, *, batch: int = 100) -> int:
    """Beat, every minute, tidying only: suspensions whose end passed are marked lifted and the
    user's status set back to none (their ban record removed, an audit line) unless another
    active sanction holds. Nobody waits for it: a suspension ends at users.ban_ends_at, checked
    when read (accounts.selectors.is_banned). Each in its own transaction; a strike is claimed
    by a conditional UPDATE of lifted_at, so two runs never lift one twice."""
    now = now or timezone.now()
    due = Strike.objects.filter(
        action=Strike.Action.SUSPENSION, status=Strike.Status.ACTIVE, lifted_at__isnull=True, ends_at__lte=now
    ).values_list("pk", "user_id")[:batch]
    lifted = 0
    for strike_id, user_id in list(due):
        lifted += _lift_one(strike_id, user_id, now=now)
    return lifted


@transaction.atomic(durable=True)
def _lift_one(strike_id, user_id, *, now) -> int:
    user = bans.locked_target(user_id)
    if not Strike.objects.filter(pk=strike_id, lifted_at__isnull=True, status=Strike.Status.ACTIVE).update(
        lifted_at=now
    ):
        return 0
    still = (
        Strike.objects.filter(user=user, status=Strike.Status.ACTIVE, lifted_at__isnull=True)
        .exclude(action=Strike.Action.WARNING)
        .exists()
    )
    if not still and user.ban_status == User.BanStatus.TEMPORARY:
        set_ban_status(user, User.BanStatus.NONE)
        UserBan.objects.filter(user=user).delete()
        record_audit("ban.suspension_ended", target=user, details={"strike": strike_id})
    return 1
