"""Onboarding: guest sign-up, the email step, guest → permanent and redeeming an
invite code. These flows join accounts with referrals (invite and referral codes) and usc_cards
(card scans and registrations), so they sit in the layer above all three.

Sign-up: an invite code, a USC card scan (or open sign-up) is the gate; a referral code
introduces the newcomer to someone. One transaction: user, code use, card, introduction,
session. An email is attached to an account only after its code is verified, so nobody can
squat another person's address; answers never reveal whether an address has an account."""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import EmailNotVerified, EmailTaken, InvalidCode, IPBanned, RequiresInviteCode
from accounts.models import AuthSession, EmailVerification, User
from accounts.selectors import get_site_settings, get_user_by_email, is_ip_banned
from accounts.services.access import grant_access
from accounts.services.credentials import USC_DOMAIN, check_password_rules
from accounts.services.email_codes import check_code, ensure_send_allowed, issue_code
from accounts.services.sessions import extend_session, start_first_session
from accounts.validation import clean_name
from config.errors import InvalidInput
from config.transactions import commit_then_refuse, durable_with_committed_refusals
from referrals.models import InviteCode
from referrals.services import find_usable_invite_code, introduce_newcomer, use_invite_code
from usc_cards.errors import UscEmailRequired
from usc_cards.services import bind_new_user, claim_scan_for_signup, finalize_registration

logger = logging.getLogger("rendezvous.accounts")
security_logger = logging.getLogger("rendezvous.security")


@dataclass(frozen=True)
class SignUpResult:
    user: User
    token: str


@transaction.atomic(durable=True)
def sign_up_guest(
    *,
    name: str,
    gender: str,
    invite_code: str | None = None,
    referral_code: str | None = None,
    usc_scan_token: str | None = None,
    ip: str | None,
    user_agent: str = "",
) -> SignUpResult:
    """Create a 7-day guest with a session. A user invite code gives qr_grace_period; an
    admin code gives access only once an @usc.edu email is verified (unpaid until then);
    a USC card scan token (from verify-card) gives qr_verified at once, the card pending
    until finalize-registration writes its registration; with neither, open sign-up (if
    staff switched it on) gives open_signup, else 403."""
    if is_ip_banned(ip):
        logger.warning("sign-up refused: banned ip=%s", ip, extra={"event": "signup.refused"})
        raise IPBanned()
    name = clean_name(name)
    card = claim_scan_for_signup(usc_scan_token) if usc_scan_token else None
    code = find_usable_invite_code(invite_code, ip=ip) if invite_code else None
    open_signup = get_site_settings().open_signup
    if code is None and card is None and not open_signup:
        raise RequiresInviteCode()
    now = timezone.now()
    user = User.objects.create_user(
        name=name,
        gender=gender,
        account_type=User.AccountType.GUEST,
        account_expires_at=now + User.GUEST_LIFETIME,
        invite_code_used=code.code if code else None,
        created_at=now,
    )
    if open_signup:  # the floor under open sign-up, whatever code comes with it
        grant_access(user, User.AccessStatus.OPEN_SIGNUP)
    if code is not None:
        use_invite_code(code, user=user)
        if code.type == InviteCode.Type.USER:
            grant_access(user, User.AccessStatus.QR_GRACE_PERIOD)
    if card is not None:
        bind_new_user(user, card)
    if referral_code:
        introduce_newcomer(referral_code, newcomer=user)
    token = start_first_session(user, ip=ip, user_agent=user_agent)
    logger.info("sign-up user=%s access=%s ip=%s", user.pk, user.access_status, ip)
    return SignUpResult(user=user, token=token)


@transaction.atomic(durable=True)
def redeem_invite_code(user: User, raw_code: str, *, ip: str | None) -> User:
    """An existing user (e.g. signed up under open sign-up) spends an invite code for access."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    code = find_usable_invite_code(raw_code, ip=ip)
    use_invite_code(code, user=user)
    if user.invite_code_used is None:
        User.objects.filter(pk=user.pk).update(invite_code_used=code.code)
        user.invite_code_used = code.code
    if code.type == InviteCode.Type.USER:
        grant_access(user, User.AccessStatus.QR_GRACE_PERIOD)
    elif user.email_verified and user.email and user.email.endswith(USC_DOMAIN):
        grant_access(user, User.AccessStatus.QR_VERIFIED)
    return user


def requires_usc_email(user: User) -> bool:
    """Admin-code and USC-card users must use an @usc.edu address."""
    if user.usc_id_hash:
        return True
    return user.invite_code_uses.filter(code__type=InviteCode.Type.ADMIN).exists()


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
        security_logger.warning(
            "email verification for an address of another account user=%s",
            user.pk,
            extra={"event": "email_verify.refused"},
        )
        return
    issue_code(user, email=email, purpose=EmailVerification.Purpose.VERIFY_EMAIL)


@durable_with_committed_refusals
def verify_email(user: User, code: str):
    """Attach the email of the user's live verification code. Admin-code users with an
    @usc.edu address get qr_verified."""
    result = check_code(user, purpose=EmailVerification.Purpose.VERIFY_EMAIL, code=code)
    if not result.ok:
        commit_then_refuse(InvalidCode(fields={"code": ["That code is not valid or has expired."]}))  # guess counted
    email = result.verification.email
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(email=email, email_verified=True)
    except IntegrityError:
        # Someone else verified the address first; the consumed code stays consumed.
        commit_then_refuse(EmailTaken(fields={"email": [EmailTaken.message]}))
    user.email, user.email_verified = email, True
    if email.endswith(USC_DOMAIN) and requires_usc_email(user):
        grant_access(user, User.AccessStatus.QR_VERIFIED)
    security_logger.info("email verified user=%s", user.pk)
    return user


@durable_with_committed_refusals
def make_permanent(user: User, *, password: str, session: AuthSession, ip: str | None = None):
    """Guest → permanent: needs a verified email (@usc.edu for USC-card and admin-code users)
    and a password that passes the validators. The current session gets the 30-day
    lifetime. A pending USC card registration is finalized first and stays finalized even
    when the upgrade is refused (the server, not the client, finalizes on both
    branches of the permanent step). Idempotent for an already permanent user (the password
    is then changed)."""
    # Before the user row lock: the card lock comes first (usc_cards.services lock order).
    finalize_registration(user, via="make_permanent", ip=ip)
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not (user.email and user.email_verified):
        commit_then_refuse(EmailNotVerified())
    if requires_usc_email(user) and not user.email.endswith(USC_DOMAIN):
        commit_then_refuse(UscEmailRequired())
    try:
        check_password_rules(password, user)
    except InvalidInput as exc:
        commit_then_refuse(exc)
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
    finalize_registration(user, via="skip_permanent", ip=ip)
    user.refresh_from_db()
    return user
