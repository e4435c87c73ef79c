"""Login and password reset; answers never reveal whether an address has an account.
Email verification and the permanent step are onboarding.services (they need referrals and
usc_cards, which sit above accounts)."""

import logging
from functools import cache
from typing import NoReturn

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.errors import InvalidCode, InvalidCredentials, IPBanned
from accounts.models import EmailVerification, User
from accounts.selectors import get_user_by_email, is_banned, is_ip_banned
from accounts.services.email_codes import check_code, issue_code
from accounts.services.login_throttle import API_DOOR, count_login_attempt, count_login_failure
from accounts.services.sessions import revoke_all_sessions, start_session
from audit.services import record_audit
from config.errors import InvalidInput, RateLimited
from config.transactions import commit_then_refuse, durable_with_committed_refusals

logger = logging.getLogger("rendezvous.security")

USC_DOMAIN = "@usc.edu"


@cache
def _dummy_hash() -> str:
    """Hashed once: a login with an unknown email still costs one password check."""
    return make_password("dummy password for timing")


def _refuse_banned_ip(ip: str | None, what: str) -> None:
    """Every way into an account refuses a banned address."""
    if is_ip_banned(ip):
        logger.warning("%s refused: banned ip=%s", what, ip, extra={"event": "ip_ban.refused"})
        raise IPBanned()


def check_password_rules(password: str, user: User | None, *, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput("Choose a stronger password.", fields={field: list(exc.messages)}) from exc


def _refuse_login(email: str, user: User | None, *, ip: str | None) -> NoReturn:
    """A wrong email or password: counted for the account; the failure that locks it commits its audit line."""
    if count_login_failure(email, user, ip=ip, door=API_DOOR):
        commit_then_refuse(InvalidCredentials())
    raise InvalidCredentials()


@durable_with_committed_refusals
def log_in(*, email: str, password: str, ip: str | None, user_agent: str = ""):
    """Email + password → (user, token) of a new session (other sessions deactivated). An
    unknown email and a wrong password give the same answer after the same hashing. A
    banned user gets a session too (audited): it opens only the ban screen's endpoints."""
    _refuse_banned_ip(ip, "login")
    # One budget per address and per account, shared with the admin login (login_throttle).
    count_login_attempt(email, ip=ip, door=API_DOOR)
    user = get_user_by_email(email or "")
    if user is None or not user.has_usable_password() or not user.is_active:
        check_password(password or "", _dummy_hash())
        logger.info("login failed ip=%s", ip, extra={"event": "login.failed"})
        _refuse_login(email, None, ip=ip)
    if not user.check_password(password or ""):
        logger.info("login failed user=%s ip=%s", user.pk, ip, extra={"event": "login.failed"})
        _refuse_login(email, user, ip=ip)
    if is_banned(user):
        # A banned member signs in to read why and until when, and to appeal (the endpoints
        # open to banned users: GET /api/me/ban, /api/me/strikes, POST .../appeal); every other
        # endpoint answers 403 banned and the socket closes 4003 banned.
        record_audit("auth.banned_login", target=user, ip=ip, details={"ban_status": user.ban_status})
    token = start_session(user, ip=ip, user_agent=user_agent)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user, token


@transaction.atomic(durable=True)
def request_password_reset(email: str, *, ip: str | None) -> None:
    """Send a reset code if a verified account has this email; the answer is always the same
    (and over the per-user send limit nothing more is sent, silently). A banned IP is refused."""
    _refuse_banned_ip(ip, "password reset request")
    user = get_user_by_email(email or "")
    permanent = user is not None and user.account_type == User.AccountType.PERMANENT
    if not permanent or not user.email_verified or not user.is_active:
        # Guests have no password to reset (they become permanent with make-permanent).
        logger.info("password reset for unknown email ip=%s", ip, extra={"event": "password_reset.unknown_email"})
        return
    try:
        with transaction.atomic():
            issue_code(user, email=user.email, purpose=EmailVerification.Purpose.RESET_PASSWORD)
    except RateLimited:
        logger.warning(
            "password reset send limit user=%s ip=%s", user.pk, ip, extra={"event": "password_reset.refused"}
        )


@durable_with_committed_refusals
def reset_password(*, email: str, code: str, new_password: str, ip: str | None):
    """Code + new password → password changed and every session revoked (audit line)."""
    _refuse_banned_ip(ip, "password reset")
    # Password rules first and without the account, so the answer says nothing about it.
    check_password_rules(new_password, None, field="new_password")
    user = get_user_by_email(email or "")
    if user is None or not user.email_verified or user.account_type != User.AccountType.PERMANENT:
        raise InvalidCode(fields={"code": ["That code is not valid or has expired."]})  # nothing written
    result = check_code(user, purpose=EmailVerification.Purpose.RESET_PASSWORD, code=code)
    if not result.ok:
        commit_then_refuse(InvalidCode(fields={"code": ["That code is not valid or has expired."]}))  # guess counted
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    revoked = revoke_all_sessions(user, reason="password_reset")
    record_audit("auth.password_reset", actor=user, target=user, ip=ip, details={"sessions_revoked": revoked})
    return user
