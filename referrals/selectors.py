"""Invite-code and referral reads."""

import uuid

from referrals.models import InviteCode, ReferralMapping, ReferralNotification
from referrals.services import normalize_code


def get_user_invite_code(user) -> InviteCode | None:
    return InviteCode.objects.filter(created_by=user, type=InviteCode.Type.USER).first()


def list_referral_notifications(user):
    """Newest first; the caller paginates (cursor on created_at)."""
    return ReferralNotification.objects.filter(for_user=user)


def get_code_holder_id(raw_code) -> uuid.UUID | None:
    """The person a friend's code names, or None: the owner of an active user invite code
    (admin poster codes name nobody; a switched-off code names nobody, a used-up one still
    names its owner), or the person an introduction link introduces. The code is normalised as
    the sign-up form does (case, spaces and dashes do not matter). One query, by primary key
    on both tables, whatever the code: which table holds it, or neither, costs the same."""
    code = normalize_code(raw_code)
    invite = InviteCode.objects.filter(pk=code, type=InviteCode.Type.USER, is_active=True).values_list(
        "created_by_id", flat=True
    )
    introduction = ReferralMapping.objects.filter(pk=code).values_list("target_user_id", flat=True)
    found = list(invite.union(introduction, all=True)[:1])
    return found[0] if found else None
