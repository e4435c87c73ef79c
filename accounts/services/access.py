"""Access status changes: only ever upward; qr_verified brings the user's own code
(referrals reacts to accounts.signals.access_granted)."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import ACCESS_RANK
from accounts.signals import access_granted

SESSIONS_FOR_UNLOCK = 4
SUCCESSFUL_SESSION_SECONDS = 30


@transaction.atomic(savepoint=False)
def grant_access(user: User, status: str) -> bool:
    """Raise user's access to `status` unless it already is as high (never downgrades `paid`).
    Returns whether it changed. The caller holds the user row lock or just created it."""
    if ACCESS_RANK[status] <= ACCESS_RANK[user.access_status]:
        return False
    user.access_status = status
    user.access_granted_at = timezone.now()
    User.objects.filter(pk=user.pk).update(access_status=status, access_granted_at=user.access_granted_at)
    access_granted.send(sender=User, user=user, status=status)  # referrals: a qr_verified user's code
    return True
