"""Guest sign-up (SPEC §4): an invite code, a USC card scan (or open sign-up) is the gate; a
referral code introduces the newcomer to someone. One transaction: user, code use, card,
introduction, session."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.errors import IPBanned, RequiresInviteCode
from accounts.models import User
from accounts.services.access import grant_access
from accounts.services.sessions import start_session
from moderation.selectors import get_site_settings, is_ip_banned

logger = logging.getLogger("rendezvous.accounts")


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
    from referrals.models import InviteCode
    from referrals.services import find_usable_invite_code, introduce_newcomer, use_invite_code
    from usc_cards.services import bind_new_user, claim_scan_for_signup

    if is_ip_banned(ip):
        logger.warning("sign-up refused: banned ip=%s", ip, extra={"event": "signup.refused"})
        raise IPBanned()
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
    token = start_session(user, ip=ip, user_agent=user_agent)
    logger.info("sign-up user=%s access=%s ip=%s", user.pk, user.access_status, ip)
    return SignUpResult(user=user, token=token)


@transaction.atomic(durable=True)
def redeem_invite_code(user: User, raw_code: str, *, ip: str | None) -> User:
    """An existing user (e.g. signed up under open sign-up) spends an invite code for access."""
    from referrals.models import InviteCode
    from referrals.services import find_usable_invite_code, use_invite_code

    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    code = find_usable_invite_code(raw_code, ip=ip)
    use_invite_code(code, user=user)
    if user.invite_code_used is None:
        User.objects.filter(pk=user.pk).update(invite_code_used=code.code)
        user.invite_code_used = code.code
    if code.type == InviteCode.Type.USER:
        grant_access(user, User.AccessStatus.QR_GRACE_PERIOD)
    elif user.email_verified and user.email and user.email.endswith("@usc.edu"):
        grant_access(user, User.AccessStatus.QR_VERIFIED)
    return user
