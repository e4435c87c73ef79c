"""Referrals' reactions to accounts.signals (connected in ReferralsConfig.ready())."""

from accounts.models import User
from referrals.services import ensure_user_invite_code


def give_qr_verified_user_a_code(sender, *, user, status, **kwargs):
    """A user who became qr_verified gets their own 4-use invite code (in the same transaction)."""
    if status == User.AccessStatus.QR_VERIFIED:
        ensure_user_invite_code(user)
