"""Access status changes (SPEC §4): only ever upward; qr_verified brings the user's own code."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import ACCESS_RANK

SESSIONS_FOR_UNLOCK = 4
SUCCESSFUL_SESSION_SECONDS = 30


@transaction.atomic(savepoint=False)
def grant_access(user: User, status: str) -> bool:
    """Raise user's access to `status` unless it already is as high (never downgrades `paid`).
    Returns whether it changed. The caller holds the user row lock or just created it."""
    from referrals.services import ensure_user_invite_code

    if ACCESS_RANK[status] <= ACCESS_RANK[user.access_status]:
        return False
    user.access_status = status
    user.access_granted_at = timezone.now()
    User.objects.filter(pk=user.pk).update(access_status=status, access_granted_at=user.access_granted_at)
    if status == User.AccessStatus.QR_VERIFIED:
        ensure_user_invite_code(user)
    return True


@transaction.atomic(savepoint=False)
def apply_session_unlock(user_id) -> bool:
    """After a completion is counted: with 4 successful sessions the user is qr_unlocked and
    qr_verified (unless already higher) and gets an invite code of their own. Idempotent."""
    from referrals.services import ensure_user_invite_code

    user = User.objects.select_for_update(no_key=True).get(pk=user_id)
    if user.qr_unlocked or user.successful_sessions < SESSIONS_FOR_UNLOCK:
        return False
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(qr_unlocked=True, qr_unlocked_at=now)
    user.qr_unlocked, user.qr_unlocked_at = True, now
    grant_access(user, User.AccessStatus.QR_VERIFIED)
    ensure_user_invite_code(user)
    return True
