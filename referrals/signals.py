"""What referrals asks the apps above it (docs/architecture.md, "Layers").

Referrals sits below chat, which owns blocks, so it cannot read them itself: it sends
`introduction_barred` and any receiver may answer True. Sent with Signal.send inside the
caller's transaction."""

from django.dispatch import Signal

# Sent by referrals.services before an introduction between `introducer_id` and `target_id`
# is made (create_referral) or delivered (introduce_newcomer). A receiver returns True when the
# two must not reach each other: chat answers whether either blocked the other. A barred
# introduction is refused exactly as one naming an unknown user (or an unknown link).
introduction_barred = Signal()


def is_introduction_barred(introducer_id, target_id) -> bool:
    answers = introduction_barred.send(sender=None, introducer_id=introducer_id, target_id=target_id)
    return any(answer for _, answer in answers)
