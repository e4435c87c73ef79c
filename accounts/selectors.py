"""Account reads, including the one token check shared by HTTP and WebSocket."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.db import connection
from django.db.models import Exists, Q
from django.utils import timezone

from accounts.errors import AccountExpired, Banned, InvalidToken, IPBanned, NoAccess
from accounts.models import AuthSession, IPBan, SiteSettings, User
from config.errors import ServiceError

LAST_ACTIVE_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128

# Access levels in order; an upgrade never moves a user down this list.
ACCESS_RANK = {
    User.AccessStatus.UNPAID: 0,
    User.AccessStatus.OPEN_SIGNUP: 1,
    User.AccessStatus.QR_GRACE_PERIOD: 2,
    User.AccessStatus.QR_VERIFIED: 3,
    User.AccessStatus.PAID: 4,
}
# The statuses a ban record may hold. Whether a ban is in force now is is_banned / banned_q:
# a temporary ban ends at ban_ends_at, whether or not the minute sweep has tidied it yet.
BANNED_STATUSES = (User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT)


def is_banned(user: User, now=None) -> bool:
    """Banned now: a permanent ban, or a temporary one without an end (until a moderator
    decides) or whose end (ban_ends_at) has not passed. The same rule as banned_q and the SQL
    function rdv_is_banned (accounts/sql/is_banned.sql)."""
    if user.ban_status == User.BanStatus.PERMANENT:
        return True
    if user.ban_status != User.BanStatus.TEMPORARY:
        return False
    return user.ban_ends_at is None or user.ban_ends_at > (now or timezone.now())


def banned_q(prefix: str = "", *, now=None) -> Q:
    """is_banned as a filter on users (`prefix` reaches them through a relation, e.g.
    "user_high__"): filter(banned_q()) keeps the banned, exclude(banned_q()) the others."""
    status, ends_at = f"{prefix}ban_status", f"{prefix}ban_ends_at"
    return Q(**{status: User.BanStatus.PERMANENT}) | (
        Q(**{status: User.BanStatus.TEMPORARY})
        & (Q(**{f"{ends_at}__isnull": True}) | Q(**{f"{ends_at}__gt": now or timezone.now()}))
    )


def ban_status_now(user: User, now=None) -> str:
    """The ban status to report: a temporary ban whose end passed reads as none (the minute
    sweep writes it later); any other status as stored."""
    if user.ban_status == User.BanStatus.TEMPORARY and not is_banned(user, now):
        return User.BanStatus.NONE
    return user.ban_status


def statuses_below(status: str) -> list[str]:
    """The access statuses ranked below `status` (ACCESS_RANK): those an upgrade to it replaces."""
    return [str(other) for other, rank in ACCESS_RANK.items() if rank < ACCESS_RANK[status]]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Authenticated:
    user: User
    session: AuthSession


def _columns(model, alias: str) -> str:
    return ", ".join(f'{alias}."{f.column}" AS "{alias}_{f.column}"' for f in model._meta.concrete_fields)


def _instance(model, values):
    """A model instance from raw column values, converted as the ORM converts them."""
    fields = model._meta.concrete_fields
    converted = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


@cache
def _authenticate_sql() -> str:
    """One statement: the session with its user, whether the IP is banned, and the
    last_active_at touch (at most once a minute, only for a session that passes every check)."""
    return f"""
        WITH found AS (
            SELECT {_columns(AuthSession, "s")}, {_columns(User, "u")},
                   EXISTS (SELECT 1 FROM ip_bans b
                            WHERE b.ip = %(ip)s::inet AND (b.expires_at IS NULL OR b.expires_at > %(now)s))
                     AS ip_banned
              FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_digest = %(digest)s
        ), touched AS (
            UPDATE sessions s SET last_active_at = %(now)s
              FROM found f
             WHERE s.id = f.s_id AND s.is_active AND s.expires_at > %(now)s
               AND s.last_active_at <= %(stale)s AND NOT f.ip_banned
               AND f.u_is_active AND NOT (f.u_account_type = 'guest' AND f.u_account_expires_at <= %(now)s)
            RETURNING s.id
        )
        SELECT found.*, EXISTS (SELECT 1 FROM touched) FROM found
    """  # noqa: S608 - the column lists come from the models


def session_refusal(session: AuthSession, user: User, *, ip_banned: bool, now) -> ServiceError | None:
    """The one check of a signed-in session, for a request (authenticate_token) and for an open
    socket's re-check (session_still_valid): an inactive or expired session or a deactivated
    user → InvalidToken (401), an expired guest → AccountExpired (401), a banned IP →
    IPBanned (403). None when the session may go on."""
    if not session.is_active or session.expires_at <= now or not user.is_active:
        return InvalidToken()
    if user.account_type == User.AccountType.GUEST and user.account_expires_at and user.account_expires_at <= now:
        return AccountExpired()
    if ip_banned:
        return IPBanned()
    return None


def authenticate_token(token: str | None, *, ip: str | None) -> Authenticated:
    """Resolve a bearer token to its live session: unknown, inactive or expired tokens,
    deactivated users and expired guests are refused (401); a banned IP gets 403.
    A user's ban is not checked here: banned users may still read their ban status
    (see ensure_not_banned). Writes last_active_at at most once a minute. One round trip."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    now = timezone.now()
    params = {"digest": hash_token(token), "ip": ip or None, "now": now, "stale": now - LAST_ACTIVE_RESOLUTION}
    with connection.cursor() as cursor:
        cursor.execute(_authenticate_sql(), params)
        row = cursor.fetchone()
    if row is None:
        raise InvalidToken()
    n_session = len(AuthSession._meta.concrete_fields)
    n_user = len(User._meta.concrete_fields)
    session = _instance(AuthSession, row[:n_session])
    user = _instance(User, row[n_session : n_session + n_user])
    ip_banned, touched = row[n_session + n_user :]
    refusal = session_refusal(session, user, ip_banned=ip_banned, now=now)
    if refusal is not None:
        raise refusal
    if touched:
        session.last_active_at = now
    session.user = user
    return Authenticated(user=user, session=session)


def ensure_not_banned(user: User, now=None) -> None:
    if is_banned(user, now):
        raise Banned(ban_status=user.ban_status)


def has_access(user: User) -> bool:
    return ACCESS_RANK[user.access_status] > 0


def ensure_has_access(user: User) -> None:
    if not has_access(user):
        raise NoAccess(access_status=user.access_status)


def get_user_by_email(email: str) -> User | None:
    return User.objects.filter(email=(email or "").strip().lower()).first()


def session_still_valid(session_id, *, ip: str | None) -> bool:
    """A signed-in socket's periodic re-check (on ping): session_refusal's checks (as when the
    socket signed in: session, user, guest expiry, the IP ban) and, for a socket, not banned.
    Pushes (session_invalidated, banned) may be lost; this catches it within a heartbeat.
    One read (the IP ban an EXISTS beside the session and its user); it writes nothing."""
    now = timezone.now()
    session = (
        AuthSession.objects.select_related("user")
        .filter(pk=session_id)
        .annotate(ip_banned=Exists(_ip_bans_in_force(ip, now)))
        .first()
    )
    if session is None or session_refusal(session, session.user, ip_banned=session.ip_banned, now=now):
        return False
    return not is_banned(session.user, now)


def _ip_bans_in_force(ip: str | None, now):
    return IPBan.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), ip=ip or None)


def is_ip_banned(ip: str | None) -> bool:
    """True while an IP ban for this address is in force (expiry checked here, at read time)."""
    if not ip:
        return False
    return _ip_bans_in_force(ip, timezone.now()).exists()


def get_site_settings() -> SiteSettings:
    settings_row, _ = SiteSettings.objects.get_or_create(id=1)
    return settings_row
