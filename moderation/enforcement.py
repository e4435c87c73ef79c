"""Building blocks of every sanction (moderation.services, .cases, .strikes, .appeals): lock a
user with their live partner, set ban_status, end their call, sockets and sessions. They run
inside the caller's transaction; pushes go out after commit."""

from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.services.locks import lock_users
from accounts.services.sessions import revoke_all_sessions
from chat.models import ActiveRoom
from chat.selectors import live_room_id_of
from chat.services import end_live_room_of
from config.realtime import send_to_users


def live_partner_id(user_id):
    """The partner in the user's live room, if any: locked with the user up front, so ending
    the room inside our transaction takes no lock out of order (no deadlock with the partner)."""
    room_id = live_room_id_of(user_id)
    room = ActiveRoom.objects.filter(pk=room_id).only("user_1_id", "user_2_id").first() if room_id else None
    return room.partner_id(user_id) if room else None


def lock_with_partner(*user_ids) -> dict:
    partners = [live_partner_id(user_id) for user_id in user_ids]
    return lock_users(*user_ids, *partners)


def session_ips(user) -> list[str]:
    rows = AuthSession.objects.filter(user=user, ip__isnull=False).values_list("ip", flat=True).distinct()
    return sorted(set(rows))


def end_call_and_sessions_of_banned(user: User, *, ban_status: str) -> None:
    """End the live room as "banned", close sockets with reason "banned" (the `banned` push
    comes before `session_invalidated`, so the socket closes 4003 banned) and deactivate
    every session. In the caller's transaction; pushes after commit."""
    end_live_room_of(user.pk, reason=ActiveRoom.EndReason.BANNED)
    send_to_users([user.pk], {"type": "banned", "ban_status": ban_status})
    revoke_all_sessions(user, reason="banned")


def set_ban_status(user: User, status: str, *, ends_at=None) -> None:
    """The user's ban status and its end: `ends_at` only for a temporary ban that ends (a
    suspension); anything else clears it (a permanent ban, a lift, the automatic ban that
    lasts until a moderator decides)."""
    User.objects.filter(pk=user.pk).update(ban_status=status, ban_ends_at=ends_at, updated_at=timezone.now())
    user.ban_status, user.ban_ends_at = status, ends_at
