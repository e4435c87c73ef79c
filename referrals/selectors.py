"""Invite-code and referral reads."""

from referrals.models import InviteCode, ReferralNotification


def get_user_invite_code(user) -> InviteCode | None:
    return InviteCode.objects.filter(created_by=user, type=InviteCode.Type.USER).first()


def list_referral_notifications(user):
    """Newest first; the caller paginates (cursor on created_at)."""
    return ReferralNotification.objects.filter(for_user=user)
