"""The global lock order on user rows, shared by every service that locks more than one user
(chat invites and rooms, moderation bans and reports)."""

from accounts.models import User


def lock_users(*user_ids) -> dict:
    """Lock these user rows (FOR NO KEY UPDATE) in ascending pk order, so two transactions
    locking overlapping pairs never deadlock, and return them by str(pk). Falsy ids (a
    partner that does not exist) are skipped."""
    ids = sorted({str(u) for u in user_ids if u})
    users = User.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    return {str(u.pk): u for u in users}
