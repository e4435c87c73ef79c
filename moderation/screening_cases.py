"""Cases that screening opens (a watched word's flag, an image above the nudity threshold, a
selfie like a banned person's): a system report (reporter NULL) in the moderators' queue, with
the evidence kept as it was. Connected to screening.signals.case_requested in
ModerationConfig.ready; open_screening_case is the one function that files them."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record_audit
from moderation import evidence as evidence_files
from moderation.cases import file_into_case
from moderation.models import Report, Strike, StrikePreset
from moderation.strikes import record_strike

SUMMARIES = {
    "message": "Screening flagged a chat message.",
    "nudity": "Screening hid an image above the nudity threshold; restore or remove it.",
    "call_photo": "Screening stopped a photo sent in a text call (nudity); it never reached the partner.",
    "ban_evasion": "Screening held this account: its selfie looks like a banned person's.",
}


@transaction.atomic(savepoint=False)
def strike_for_screening(user: User, *, reason: str, text: str, moderator: User) -> int:
    """A strike (a warning) for a violation screening found and a moderator confirmed; `reason`
    names a preset (its title, any case), whose text the strike copies, plus `text`."""
    preset = StrikePreset.objects.filter(title__iexact=reason).first()
    wording = "\n".join(part for part in ((preset.text if preset else reason), text) if part)
    strike = record_strike(
        user, action=Strike.Action.WARNING, reason=wording, preset=preset, moderator=moderator, now=timezone.now()
    )
    return strike.pk


@transaction.atomic(savepoint=False)
def open_screening_case(user: User, *, kind: str, category: str, evidence: dict) -> Report:
    """File the system report about `user` with `evidence` (JSON) into their open case
    (moderation.cases.file_into_case, the path member reports take too), in the caller's
    transaction. Several system reports about one person may exist (reporter NULL is not a pair)."""
    # Copies under evidence/ (staff only), so the case keeps what was seen when the media goes.
    images = [evidence_files.preserve(name) for name in evidence.get("images", []) if name]
    evidence = {**evidence, "images": images}
    result = file_into_case(
        user,
        source=Report.Source.SCREENING,
        category=category,
        evidence=evidence,
        text=SUMMARIES.get(kind, "Screening opened a case.")[: Report.MAX_TEXT],
        selfie=images[0] if images else "",
        messages=[{"screening": kind, **evidence}],
    )
    record_audit("screening.case_opened", target=user, details={"report": result.report.pk, "kind": kind})
    return result.report


def on_case_requested(sender, *, user_id, kind, category, evidence, **kwargs):
    user = User.objects.get(pk=user_id)
    return open_screening_case(user, kind=kind, category=category, evidence=evidence).pk


def on_strike_requested(sender, *, user_id, reason, text, moderator, **kwargs):
    return strike_for_screening(User.objects.get(pk=user_id), reason=reason, text=text, moderator=moderator)
