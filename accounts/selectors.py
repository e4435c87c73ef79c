"""Account reads, including the one token check shared by HTTP and WebSocket."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.errors import AccountExpired, Banned, InvalidToken, IPBanned, NoAccess
from accounts.models import AuthSession, User
from moderation.selectors import is_ip_banned

LAST_ACTIVE_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128

# Access levels in order; an upgrade never moves a user down this list (SPEC §4).
ACCESS_RANK = {
    User.AccessStatus.UNPAID: 0,
    User.AccessStatus.OPEN_SIGNUP: 1,
    User.AccessStatus.QR_GRACE_PERIOD: 2,
    User.AccessStatus.QR_VERIFIED: 3,
    User.AccessStatus.PAID: 4,
}
BANNED_STATUSES = (User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Authenticated:
    user: User
    session: AuthSession


def authenticate_token(token: str | None, *, ip: str | None) -> Authenticated:
    """Resolve a bearer token to its live session: unknown, inactive or expired tokens,
    deactivated users and expired guests are refused (401); a banned IP gets 403.
    A user's ban is not checked here: banned users may still read their ban status
    (see ensure_not_banned). Writes last_active_at at most once a minute."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    now = timezone.now()
    session = AuthSession.objects.select_related("user").filter(token_digest=hash_token(token)).first()
    if session is None or not session.is_active or session.expires_at <= now or not session.user.is_active:
        raise InvalidToken()
    user = session.user
    if user.account_type == User.AccountType.GUEST and user.account_expires_at and user.account_expires_at <= now:
        raise AccountExpired()
    if is_ip_banned(ip):
        raise IPBanned()
    if session.last_active_at <= now - LAST_ACTIVE_RESOLUTION:
        # Conditional, so concurrent requests write it once; a lost race costs nothing.
        AuthSession.objects.filter(pk=session.pk, last_active_at__lte=now - LAST_ACTIVE_RESOLUTION).update(
            last_active_at=now
        )
    return Authenticated(user=user, session=session)


def ensure_not_banned(user: User) -> None:
    if user.ban_status in BANNED_STATUSES:
        raise Banned(ban_status=user.ban_status)


def has_access(user: User) -> bool:
    return ACCESS_RANK[user.access_status] > 0


def ensure_has_access(user: User) -> None:
    if not has_access(user):
        raise NoAccess(access_status=user.access_status)


def get_user_by_email(email: str) -> User | None:
    return User.objects.filter(email=(email or "").strip().lower()).first()


def session_still_valid(session_id) -> bool:
    """A signed-in socket's periodic re-check (on ping): still active, unexpired, not banned.
    Pushes (session_invalidated, banned) may be lost; this catches it within a heartbeat."""
    now = timezone.now()
    session = AuthSession.objects.select_related("user").filter(pk=session_id).first()
    return bool(
        session
        and session.is_active
        and session.expires_at > now
        and session.user.is_active
        and session.user.ban_status not in BANNED_STATUSES
    )
