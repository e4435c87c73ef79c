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


def apply_session_unlock(user_id) -> bool:
    """After a completion is counted: with 4 successful sessions the user is qr_unlocked and
    qr_verified (unless already higher) and gets an invite code of their own. Idempotent.
    The rule is the SQL function rdv_apply_session_unlock (chat migration 0004), which the end
    of a room (rdv_end_room) runs in the same statement; this is its call from Python."""
    from django.db import connection

    from referrals.models import InviteCode
    from referrals.services import INVITE_CODE_LENGTH, random_code

    assert InviteCode.USER_CODE_USES == 4  # the function writes 4
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rdv_apply_session_unlock(%s::uuid, %s, %s, %s)",
            [str(user_id), random_code(INVITE_CODE_LENGTH), SESSIONS_FOR_UNLOCK, timezone.now()],
        )
        return cursor.fetchone()[0]
