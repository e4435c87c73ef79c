"""Invite-code and referral reads."""

from referrals.models import InviteCode, ReferralNotification


def get_user_invite_code(user) -> InviteCode | None:
    return InviteCode.objects.filter(created_by=user, type=InviteCode.Type.USER).first()


def list_referral_notifications(user):
    """Newest first; the caller paginates (cursor on created_at)."""
    return ReferralNotification.objects.filter(for_user=user)


def introduced_user_ids(user) -> list:
    """The people this user was introduced to (shown first in their reel)."""
    return list(ReferralNotification.objects.filter(referred_user=user).values_list("for_user_id", flat=True))
