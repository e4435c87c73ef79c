"""Auth sessions: start (single-session rule), log out, log out everywhere."""

import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.selectors import hash_token
from audit.services import record_audit
from config.realtime import send_to_users

logger = logging.getLogger("rendezvous.security")

TOKEN_BYTES = 32
GUEST_SESSION_TTL = timedelta(days=7)
PERMANENT_SESSION_TTL = timedelta(days=30)


def session_ttl(user: User) -> timedelta:
    return PERMANENT_SESSION_TTL if user.account_type == User.AccountType.PERMANENT else GUEST_SESSION_TTL


def _invalidate(user_id, session_ids: list[int], reason: str) -> None:
    """Deactivate these sessions and, after commit, tell their sockets to close."""
    if not session_ids:
        return
    AuthSession.objects.filter(pk__in=session_ids, is_active=True).update(is_active=False)
    send_to_users([user_id], {"type": "session_invalidated", "sessions": session_ids, "reason": reason})


@transaction.atomic(savepoint=False)
def start_session(user: User, *, ip: str | None, user_agent: str = "") -> str:
    """Create the user's one active session and return its token (shown once, stored as a
    SHA-256 digest). Other active sessions are deactivated and their sockets told
    `session_invalidated`. The user row lock serializes two logins of the same user."""
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).get()
    others = list(AuthSession.objects.filter(user=user, is_active=True).values_list("pk", flat=True))
    _invalidate(user.pk, others, "new_login")
    return _create_session(user, ip=ip, user_agent=user_agent)


@transaction.atomic(savepoint=False)
def start_first_session(user: User, *, ip: str | None, user_agent: str = "") -> str:
    """The first session of a user created in the caller's transaction: nobody else can see the
    row yet, so it has no other session to end and no login to serialize with (start_session's
    lock and look-up would be two round trips that find nothing, on every sign-up)."""
    return _create_session(user, ip=ip, user_agent=user_agent)


def _create_session(user: User, *, ip: str | None, user_agent: str) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    AuthSession.objects.create(
        token_digest=hash_token(token),
        user=user,
        ip=ip,
        user_agent=(user_agent or "")[:512],
        created_at=now,
        last_active_at=now,
        expires_at=now + session_ttl(user),
    )
    return token


@transaction.atomic(durable=True)
def log_out(session: AuthSession) -> None:
    _invalidate(session.user_id, [session.pk], "logout")


@transaction.atomic(durable=True)
def log_out_everywhere(user: User, *, ip: str | None) -> int:
    sessions = list(AuthSession.objects.filter(user=user, is_active=True).values_list("pk", flat=True))
    _invalidate(user.pk, sessions, "logout_everywhere")
    record_audit("auth.logout_everywhere", actor=user, target=user, ip=ip, details={"sessions": len(sessions)})
    return len(sessions)


@transaction.atomic(savepoint=False)
def revoke_all_sessions(user: User, *, reason: str) -> int:
    """Deactivate every session of the user (password reset, ban, deletion) in the caller's
    transaction; their sockets are told after commit."""
    sessions = list(AuthSession.objects.filter(user=user, is_active=True).values_list("pk", flat=True))
    _invalidate(user.pk, sessions, reason)
    return len(sessions)


@transaction.atomic(savepoint=False)
def extend_session(session: AuthSession, user: User) -> None:
    """After a guest becomes permanent their current session gets the permanent lifetime."""
    AuthSession.objects.filter(pk=session.pk, is_active=True).update(expires_at=session.created_at + session_ttl(user))
