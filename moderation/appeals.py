"""Appeals (Mastodon's Appeal): one per strike, within 20 days of it, at most 2,000
characters; decided by a moderator who did not take the action. Overturning reverses the
action in the same transaction: the ban lifted and access restored, the strike marked
overturned, the reports it answered counted as not upheld (their reporters' accuracy drops).
The user is told by email and a live event, after commit."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import BANNED_STATUSES
from audit.services import record_audit
from config.errors import Conflict, Forbidden, InvalidInput, NotFound
from config.realtime import send_to_users
from moderation.models import Appeal, Report, Strike, UserBan
from moderation.services import bans

logger = logging.getLogger("rendezvous.audit")


class AlreadyAppealed(Conflict):
    code = "already_appealed"
    message = "You have already appealed this decision; a strike can be appealed once."


class AppealWindowClosed(Conflict):
    code = "appeal_window_closed"
    message = "The time to appeal has passed."


class NotAppealable(Conflict):
    code = "not_appealable"
    message = "This decision was already reversed."


class AppealDecided(Conflict):
    code = "appeal_decided"
    message = "This appeal was already decided."


class OwnAction(Forbidden):
    code = "own_action"
    message = "You took this action; another moderator must decide the appeal."


@transaction.atomic(durable=True)
def file_appeal(user: User, strike_id, *, text: str) -> Appeal:
    """The user appeals one of their strikes. 404 for another's strike; 409 past the window
    (with the date it closed), for a second appeal, or for an overturned strike."""
    text = (text or "").strip()
    if not text or len(text) > Appeal.MAX_TEXT:
        raise InvalidInput(fields={"text": [f"Write 1 to {Appeal.MAX_TEXT:,} characters."]})
    strike = Strike.objects.select_for_update().filter(pk=strike_id, user=user).first()
    if strike is None:
        raise NotFound("No such strike of yours.")
    if Appeal.objects.filter(strike=strike).exists():
        raise AlreadyAppealed()
    if strike.status == Strike.Status.OVERTURNED:
        raise NotAppealable()
    now = timezone.now()
    deadline = strike.appeal_deadline()
    if now > deadline:
        raise AppealWindowClosed(
            f"The time to appeal this decision ended on {deadline:%d %B %Y} ({Strike.APPEAL_WINDOW.days} days).",
            closed_at=deadline.isoformat(),
        )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(strike=strike, text=text, created_at=now)
    except IntegrityError as exc:
        raise AlreadyAppealed() from exc
    record_audit("appeal.filed", actor=user, target=user, details={"appeal": appeal.pk, "strike": strike.pk})
    return appeal


def _appeal_event(appeal: Appeal) -> dict:
    return {
        "type": "appeal.decided",
        "appeal": appeal.pk,
        "strike": appeal.strike_id,
        "status": appeal.status,
        "reason": appeal.decision_reason,
        "decided_at": appeal.decided_at.isoformat(),
    }


def _email(address: str, appeal: Appeal) -> None:
    verdict = (
        "Your appeal was accepted: the decision was reversed and your access restored."
        if appeal.status == Appeal.Status.OVERTURNED
        else "Your appeal was reviewed and the decision stands."
    )
    reason = f"\n\nThe moderator's reason: {appeal.decision_reason}" if appeal.decision_reason else ""
    send_mail("Your Rendezvous appeal was decided", verdict + reason, settings.DEFAULT_FROM_EMAIL, [address])


@transaction.atomic(durable=True)
def decide_appeal(appeal_id, *, moderator, overturn: bool, reason: str = "", ip: str | None = None) -> Appeal:
    """Uphold (with a reason) or overturn. The user is locked first (then the appeal), so the
    reversal and a concurrent sanction are serialised. A moderator who took the action
    (the strike's author) cannot decide its appeal."""
    reason = (reason or "").strip()
    if not overturn and not reason:
        raise InvalidInput(fields={"reason": ["Say why the decision stands."]})
    user_id = Appeal.objects.filter(pk=appeal_id).values_list("strike__user_id", flat=True).first()
    if user_id is None:
        raise NotFound("No such appeal.")
    user = bans.locked_target(user_id)
    appeal = Appeal.objects.select_for_update().select_related("strike").get(pk=appeal_id)
    if appeal.status != Appeal.Status.PENDING:
        raise AppealDecided()
    strike = appeal.strike
    if strike.created_by_id is not None and strike.created_by_id == moderator.pk:
        raise OwnAction()
    now = timezone.now()
    appeal.status = Appeal.Status.OVERTURNED if overturn else Appeal.Status.UPHELD
    appeal.decided_by, appeal.decided_at, appeal.decision_reason = moderator, now, reason[:1000]
    appeal.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    if overturn:
        _reverse(strike, user, moderator=moderator, now=now, ip=ip)
    record_audit(
        "appeal.overturned" if overturn else "appeal.upheld",
        actor=moderator,
        target=user,
        ip=ip,
        details={"appeal": appeal.pk, "strike": strike.pk, "action": strike.action},
    )
    send_to_users([user.pk], _appeal_event(appeal))
    if user.email and user.email_verified:
        transaction.on_commit(lambda: _email(user.email, appeal), robust=True)
    return appeal


def _reverse(strike: Strike, user: User, *, moderator, now, ip) -> None:
    """The action undone: the strike overturned, a ban or suspension lifted (IP bans tied to
    the user too) when no other active sanction holds, and the reports it answered rejected."""
    Strike.objects.filter(pk=strike.pk).update(status=Strike.Status.OVERTURNED, lifted_at=now)
    reports = list(strike.reports.all())
    Report.objects.filter(pk__in=[r.pk for r in reports]).update(outcome=Report.Outcome.REJECTED, outcome_at=now)
    other_sanction = (
        Strike.objects.filter(user=user, status=Strike.Status.ACTIVE, lifted_at__isnull=True)
        .exclude(action=Strike.Action.WARNING)
        .exclude(pk=strike.pk)
        .exists()
    )
    if strike.action != Strike.Action.WARNING and user.ban_status in BANNED_STATUSES and not other_sanction:
        bans.clear_ban(user, moderator=moderator, new_status=User.BanStatus.NONE, event="ban.lifted", ip=ip)
        UserBan.objects.filter(user=user).delete()
