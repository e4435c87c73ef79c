"""Strikes: every sanction of a user is a row they can read, with its reason (Mastodon's
account warnings). These helpers run inside the caller's transaction (the case actions,
the automatic ban, the admin's ban buttons); events go out after commit."""

from django.db import transaction

from audit.services import record_audit
from config.realtime import send_to_users
from moderation.models import Strike

AUTO_BAN_REASON = "Reported by several members; a moderator will review."


def strike_event(strike: Strike) -> dict:
    return {
        "type": "strike.new",
        "strike": strike.pk,
        "action": strike.action,
        "reason": strike.reason,
        "created_at": strike.created_at.isoformat(),
        "ends_at": strike.ends_at.isoformat() if strike.ends_at else None,
    }


@transaction.atomic(savepoint=False)
def record_strike(
    user,
    *,
    action: str,
    reason: str,
    moderator=None,
    preset=None,
    case=None,
    reports=(),
    ends_at=None,
    now,
    ip: str | None = None,
) -> Strike:
    """One strike with its audit line; the user gets a `strike.new` event after commit."""
    strike = Strike.objects.create(
        user=user,
        action=action,
        reason=(reason or (preset.text if preset else ""))[:1000] or "No reason given.",
        preset=preset,
        case=case,
        created_by=moderator,
        automatic=moderator is None,
        ends_at=ends_at,
        created_at=now,
    )
    if reports:
        strike.reports.set(reports)
    record_audit(
        "strike.created",
        actor=moderator,
        target=user,
        ip=ip,
        details={
            "strike": strike.pk,
            "action": action,
            "preset": preset.title if preset else None,
            "case": case.pk if case else None,
            "ends_at": ends_at.isoformat() if ends_at else None,
            "automatic": moderator is None,
        },
    )
    send_to_users([user.pk], strike_event(strike))  # after commit
    return strike


def _lift_automatic(user, status: str, *, now) -> int:
    """The automatic suspension pending review (active, no end) set to `status`; how many."""
    return Strike.objects.filter(user=user, automatic=True, status=Strike.Status.ACTIVE, ends_at__isnull=True).update(
        status=status, lifted_at=now
    )


def supersede_automatic(user, *, now) -> int:
    """A moderator decided: the automatic suspension pending review no longer stands alone
    (their own strike says what holds now). Returns how many were superseded."""
    return _lift_automatic(user, Strike.Status.SUPERSEDED, now=now)


def overturn_automatic(user, *, now) -> int:
    """A moderator found the reports wrong: the automatic suspension pending review is void."""
    return _lift_automatic(user, Strike.Status.OVERTURNED, now=now)
