"""Cases that screening opens (a watched word's flag, an image above the nudity threshold, a
selfie like a banned person's): a system report (reporter NULL) in the moderators' queue, with
the evidence kept as it was. Connected to screening.signals.case_requested in
ModerationConfig.ready; open_screening_case is the one function that files them."""

from django.db import transaction

from accounts.models import User
from audit.services import record_audit
from moderation import evidence as evidence_files
from moderation.models import Report

SUMMARIES = {
    "message": "Screening flagged a chat message.",
    "nudity": "Screening hid an image above the nudity threshold; restore or remove it.",
    "ban_evasion": "Screening held this account: its selfie looks like a banned person's.",
}


@transaction.atomic(savepoint=False)
def strike_for_screening(user: User, *, reason: str, text: str, moderator: User):
    """A strike for a violation screening found and a moderator confirmed. Until the strikes
    of the moderation queue land, an audit line with the reason is the strike's record."""
    entry = record_audit("moderation.strike", actor=moderator, target=user, details={"reason": reason, "text": text})
    return entry.pk


@transaction.atomic(savepoint=False)
def open_screening_case(user: User, *, kind: str, category: str, evidence: dict) -> Report:
    """File the system report about `user` with `evidence` (JSON) in the caller's transaction.
    Several system reports about one person may exist (reporter NULL is not a pair)."""
    # Copies under evidence/ (staff only), so the case keeps what was seen when the media goes.
    images = [evidence_files.preserve(name) for name in evidence.get("images", []) if name]
    evidence = {**evidence, "images": images}
    report = Report.objects.create(
        reported=user,
        reporter=None,
        category=category,
        text=SUMMARIES.get(kind, "Screening opened a case.")[: Report.MAX_TEXT],
        reported_name=user.name,
        reported_selfie=images[0] if images else "",
        messages_snapshot=[{"screening": kind, **evidence}],
    )
    record_audit("screening.case_opened", target=user, details={"report": report.pk, "kind": kind})
    return report


def on_case_requested(sender, *, user_id, kind, category, evidence, **kwargs):
    user = User.objects.get(pk=user_id)
    return open_screening_case(user, kind=kind, category=category, evidence=evidence).pk


def on_strike_requested(sender, *, user_id, reason, text, moderator, **kwargs):
    return strike_for_screening(User.objects.get(pk=user_id), reason=reason, text=text, moderator=moderator)
