"""Email verification, permanent upgrade, login and password reset (SPEC §4).

An email is attached to an account only after its code is verified, so nobody can squat
another person's address; answers never reveal whether an address has an account."""

import contextlib
import hashlib
import logging
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import Banned, EmailNotVerified, EmailTaken, InvalidCode, InvalidCredentials, IPBanned
from accounts.models import AuthSession, EmailVerification, User
from accounts.selectors import BANNED_STATUSES, get_user_by_email
from accounts.services.access import grant_access
from accounts.services.email_codes import check_code, ensure_send_allowed, issue_code
from accounts.services.sessions import extend_session, revoke_all_sessions, start_session
from config.errors import InvalidInput, RateLimited
from config.ratelimit import Limit
from config.transactions import durable_then_raise
from moderation.selectors import is_ip_banned

logger = logging.getLogger("rendezvous.security")

USC_DOMAIN = "@usc.edu"


@cache
def _dummy_hash() -> str:
    """Hashed once: a login with an unknown email still costs one password check."""
    return make_password("dummy password for timing")


def requires_usc_email(user: User) -> bool:
    """Admin-code and USC-card users must use an @usc.edu address (SPEC §4)."""
    from referrals.models import InviteCode

    if user.usc_id_hash:
        return True
    return user.invite_code_uses.filter(code__type=InviteCode.Type.ADMIN).exists()


def _refuse_banned_ip(ip: str | None, what: str) -> None:
    """Every way into an account refuses a banned address (SPEC §4, §7)."""
    if is_ip_banned(ip):
        logger.warning("%s refused: banned ip=%s", what, ip, extra={"event": "ip_ban.refused"})
        raise IPBanned()


def _check_password_rules(password: str, user: User | None, *, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput("Choose a stronger password.", fields={field: list(exc.messages)}) from exc


@transaction.atomic(durable=True)
def request_email_verification(user: User, email: str) -> None:
    """Email a code proving the user owns `email`. The address is attached only when the
    code comes back (verify_email). If it already belongs to another account no code is
    sent, and the answer is the same, so this cannot probe for accounts."""
    email = email.strip().lower()
    if requires_usc_email(user) and not email.endswith(USC_DOMAIN):
        raise InvalidInput("Use your @usc.edu address.", fields={"email": ["Use your @usc.edu address."]})
    # The send limit first: answering 429 only for free addresses would reveal taken ones.
    ensure_send_allowed(user)
    owner = get_user_by_email(email)
    if owner is not None and owner.pk != user.pk:
        logger.warning(
            "email verification for an address of another account user=%s",
            user.pk,
            extra={"event": "email_verify.refused"},
        )
        return
    issue_code(user, email=email, purpose=EmailVerification.Purpose.VERIFY_EMAIL)


@durable_then_raise
def verify_email(user: User, code: str):
    """Attach the email of the user's live verification code. Admin-code users with an
    @usc.edu address get qr_verified."""
    result = check_code(user, purpose=EmailVerification.Purpose.VERIFY_EMAIL, code=code)
    if not result.ok:
        return InvalidCode(fields={"code": ["That code is not valid or has expired."]})
    email = result.verification.email
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(email=email, email_verified=True)
    except IntegrityError:
        # Someone else verified the address first; the consumed code stays consumed.
        return EmailTaken(fields={"email": [EmailTaken.message]})
    user.email, user.email_verified = email, True
    if email.endswith(USC_DOMAIN) and requires_usc_email(user):
        grant_access(user, User.AccessStatus.QR_VERIFIED)
    logger.info("email verified user=%s", user.pk)
    return user


@durable_then_raise
def make_permanent(user: User, *, password: str, session: AuthSession, ip: str | None = None):
    """Guest → permanent: needs a verified email (@usc.edu for USC-card and admin-code users)
    and a password that passes the validators. The current session gets the 30-day
    lifetime. A pending USC card registration is finalized first and stays finalized even
    when the upgrade is refused (SPEC §5: the server, not the client, finalizes on both
    branches of the permanent step). Idempotent for an already permanent user (the password
    is then changed)."""
    from usc_cards.errors import UscEmailRequired
    from usc_cards.services import finalize_registration

    # Before the user row lock: the card lock comes first (usc_cards.services lock order).
    finalize_registration(user, via="make_permanent", ip=ip)
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not (user.email and user.email_verified):
        return EmailNotVerified()
    if requires_usc_email(user) and not user.email.endswith(USC_DOMAIN):
        return UscEmailRequired()
    try:
        _check_password_rules(password, user)
    except InvalidInput as exc:
        return exc
    user.set_password(password)
    user.account_type = User.AccountType.PERMANENT
    user.account_expires_at = None
    user.save(update_fields=["password", "account_type", "account_expires_at", "updated_at"])
    extend_session(session, user)
    return user


@transaction.atomic(durable=True)
def skip_permanent(user: User, *, ip: str | None = None) -> User:
    """The other branch of the permanent step: the user stays a guest for now. A pending USC
    card registration is finalized here too, so no client can forget it."""
    from usc_cards.services import finalize_registration

    finalize_registration(user, via="skip_permanent", ip=ip)
    user.refresh_from_db()
    return user


def _account_login_limit(email: str | None) -> tuple[Limit, str]:
    """The per-account failed-login counter: keyed by a digest of the normalised email, so an
    unknown address is counted exactly like a real one (and no address sits in Redis in clear)."""
    from config.api import parse_rate

    max_hits, window = parse_rate(settings.RATE_LIMITS["login_account"])
    digest = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()
    return Limit("login_account", max_hits, window), digest


def _count_failure(limit: Limit, subject: str) -> None:
    with contextlib.suppress(RateLimited):  # this attempt fails anyway; check() refuses the next
        limit.hit(subject)


@durable_then_raise
def log_in(*, email: str, password: str, ip: str | None, user_agent: str = ""):
    """Email + password → (user, token) of a new session (other sessions deactivated). An
    unknown email and a wrong password give the same answer after the same hashing. A
    banned user's refusal is audited (committed), then raised."""
    from moderation.services import record_audit

    _refuse_banned_ip(ip, "login")
    limit, subject = _account_login_limit(email)
    limit.check(subject)  # 429 once the account had too many failures, from any number of IPs
    user = get_user_by_email(email or "")
    if user is None or not user.has_usable_password() or not user.is_active:
        check_password(password or "", _dummy_hash())
        logger.info("login failed ip=%s", ip, extra={"event": "login.failed"})
        _count_failure(limit, subject)
        raise InvalidCredentials()
    if not user.check_password(password or ""):
        logger.info("login failed user=%s ip=%s", user.pk, ip, extra={"event": "login.failed"})
        _count_failure(limit, subject)
        raise InvalidCredentials()
    if user.ban_status in BANNED_STATUSES:
        record_audit("auth.banned_login_refused", target=user, ip=ip, details={"ban_status": user.ban_status})
        return Banned(ban_status=user.ban_status)
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


@durable_then_raise
def reset_password(*, email: str, code: str, new_password: str, ip: str | None):
    """Code + new password → password changed and every session revoked (audit line)."""
    from moderation.services import record_audit

    _refuse_banned_ip(ip, "password reset")
    # Password rules first and without the account, so the answer says nothing about it.
    _check_password_rules(new_password, None, field="new_password")
    user = get_user_by_email(email or "")
    if user is None or not user.email_verified or user.account_type != User.AccountType.PERMANENT:
        return InvalidCode(fields={"code": ["That code is not valid or has expired."]})
    result = check_code(user, purpose=EmailVerification.Purpose.RESET_PASSWORD, code=code)
    if not result.ok:
        return InvalidCode(fields={"code": ["That code is not valid or has expired."]})
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    revoked = revoke_all_sessions(user, reason="password_reset")
    record_audit("auth.password_reset", actor=user, target=user, ip=ip, details={"sessions_revoked": revoked})
    return user
