"""Invite codes (the gate to sign-up) and introductions."""

import io
import logging
import secrets
import string

import qrcode
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.selectors import banned_q, statuses_below
from accounts.services.access import SESSIONS_FOR_UNLOCK
from audit.services import record_audit
from config.errors import NotFound
from config.ratelimit import Limit
from config.realtime import send_to_users
from referrals.errors import (
    InvalidInviteCode,
    InvalidReferralCode,
    InviteCodeAlreadyUsed,
    InviteCodeExhausted,
    OwnInviteCode,
)
from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification
from referrals.signals import is_introduction_barred

logger = logging.getLogger("rendezvous.security")

CODE_ALPHABET = string.ascii_uppercase + string.digits
INVITE_CODE_LENGTH = 16
REFERRAL_CODE_LENGTH = 10


def random_code(length: int) -> str:
    """Uniform over A–Z0–9 (secrets.choice draws without modulo bias)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(raw) -> str:
    return "".join(ch for ch in str(raw or "") if ch.isalnum()).upper()[:64]


def invite_failures() -> Limit:
    return Limit("invite_code_failures", settings.INVITE_CODE_FAILURES_PER_HOUR, 3600)


def find_usable_invite_code(raw, *, ip: str | None) -> InviteCode:
    """The active code with uses left, or InvalidInviteCode. Failed lookups are counted per
    IP (5 an hour); past that even a right code gets 429 until the hour is over."""
    failures = invite_failures()
    failures.check(f"ip:{ip}")
    code = normalize_code(raw)
    found = None
    if len(code) == INVITE_CODE_LENGTH:
        found = InviteCode.objects.filter(pk=code, is_active=True).first()
    if found is None or (found.uses_remaining is not None and found.uses_remaining <= 0):
        failures.hit(f"ip:{ip}")
        logger.warning("invalid invite code attempt ip=%s", ip, extra={"event": "invite_code.refused"})
        raise InvalidInviteCode()
    return found


@transaction.atomic(savepoint=False)
def use_invite_code(code: InviteCode, *, user: User) -> InviteCode:
    """Spend one use of `code` for `user` in the caller's transaction. Refuses the user's own
    code and a second use (UNIQUE(code, user)); the decrement is a conditional UPDATE, so
    parallel sign-ups on a 4-use code give exactly 4 successes."""
    if code.created_by_id == user.pk:
        raise OwnInviteCode()
    try:
        with transaction.atomic():
            InviteCodeUse.objects.create(code=code, user=user)
    except IntegrityError as exc:
        raise InviteCodeAlreadyUsed() from exc
    if code.max_uses is not None:
        spent = InviteCode.objects.filter(pk=code.pk, is_active=True, uses_remaining__gt=0).update(
            uses_remaining=F("uses_remaining") - 1
        )
        if spent != 1:
            raise InviteCodeExhausted()
    return code


@transaction.atomic(savepoint=False)
def ensure_user_invite_code(user: User) -> InviteCode:
    """The user's own 4-use code, created the first time (qr_verified or 4 sessions)."""
    existing = InviteCode.objects.filter(created_by=user, type=InviteCode.Type.USER).first()
    if existing:
        return existing
    for _ in range(5):  # a collision in 36^16 is astronomically unlikely; retry anyway
        try:
            with transaction.atomic():
                return InviteCode.objects.create(
                    code=random_code(INVITE_CODE_LENGTH),
                    type=InviteCode.Type.USER,
                    created_by=user,
                    created_by_name=user.name,
                    max_uses=InviteCode.USER_CODE_USES,
                    uses_remaining=InviteCode.USER_CODE_USES,
                )
        except IntegrityError:
            existing = InviteCode.objects.filter(created_by=user, type=InviteCode.Type.USER).first()
            if existing:  # a parallel call made it
                return existing
    raise RuntimeError("could not allocate an invite code")


@transaction.atomic(durable=True)
def create_referral(*, created_by: User, target_user_id) -> ReferralMapping:
    """An introduction link: a newcomer who signs up with it is introduced to the target. An
    unknown, banned or blocked-either-way target is the same 404."""
    target = User.objects.filter(pk=target_user_id, is_active=True).exclude(banned_q())
    target = target.first()
    # A block either way answers exactly as an unknown user: neither can introduce anyone to the other.
    if target is None or is_introduction_barred(created_by.pk, target.pk):
        raise NotFound("No such user.", fields={"target_user_id": ["No such user."]})
    for _ in range(5):
        try:
            with transaction.atomic():
                return ReferralMapping.objects.create(
                    referral_code=random_code(REFERRAL_CODE_LENGTH),
                    target_user=target,
                    created_by_user=created_by,
                    target_name=target.name,
                    created_by_name=created_by.name,
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a referral code")


def notification_payload(notification: ReferralNotification) -> dict:
    return {
        "id": notification.pk,
        "referred_user_id": str(notification.referred_user_id),
        "referred_name": notification.referred_name,
        "introduced_by_id": str(notification.introduced_by_id) if notification.introduced_by_id else None,
        "introduced_by_name": notification.introduced_by_name,
        "read": notification.read,
        "created_at": notification.created_at.isoformat(),
    }


@transaction.atomic(savepoint=False)
def introduce_newcomer(raw_code, *, newcomer: User) -> ReferralNotification:
    """Record that `newcomer` signed up through an introduction link: the target gets a
    referral_notifications row and, after commit, a realtime `referral.notification`."""
    code = "".join(ch for ch in str(raw_code or "") if ch.isalnum())[: REFERRAL_CODE_LENGTH * 2]
    mapping = ReferralMapping.objects.select_related("created_by_user").filter(referral_code=code.upper()).first()
    if mapping is None or mapping.target_user_id == newcomer.pk:
        raise InvalidReferralCode()
    # A link made before a block between its maker and its target is dead, as an unknown link:
    # the target is never told "introduced by" someone they blocked (or who blocked them).
    if mapping.created_by_user_id and is_introduction_barred(mapping.created_by_user_id, mapping.target_user_id):
        raise InvalidReferralCode()
    notification, _ = ReferralNotification.objects.get_or_create(
        for_user_id=mapping.target_user_id,
        referred_user=newcomer,
        defaults={
            "introduced_by": mapping.created_by_user,
            "referred_name": newcomer.name,
            "introduced_by_name": mapping.created_by_name,
        },
    )
    send_to_users([mapping.target_user_id], {"type": "referral.notification", **notification_payload(notification)})
    return notification


@transaction.atomic(durable=True)
def mark_notifications_read(user: User, *, ids: list[int] | None = None) -> int:
    rows = ReferralNotification.objects.filter(for_user=user, read=False)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read=True)


AUDIT_CODE_SUFFIX = 4


def code_suffix(code: str) -> str:
    """What the audit log keeps of an invite code: its last 4 characters, enough to find it in
    the admin (search), never enough to sign up with it."""
    return code[-AUDIT_CODE_SUFFIX:]


@transaction.atomic(durable=True)
def create_admin_invite_codes(*, count: int, max_uses: int | None, actor: User | None, label: str = "") -> list:
    """A batch of admin codes (for QR posters): unlimited (max_uses None) or N uses each.
    One audit line for the batch."""
    if not 1 <= count <= 1000:
        raise ValueError("count must be 1..1000")
    if max_uses is not None and max_uses < 1:
        raise ValueError("max_uses must be at least 1")
    codes = InviteCode.objects.bulk_create(
        [
            InviteCode(
                code=random_code(INVITE_CODE_LENGTH),
                type=InviteCode.Type.ADMIN,
                created_by_name=(label or (actor.name if actor else "staff"))[:60],
                max_uses=max_uses,
                uses_remaining=max_uses,
            )
            for _ in range(count)
        ]
    )
    record_audit(
        "invite_codes.created",
        actor=actor,
        details={"count": count, "max_uses": max_uses, "code_suffixes": [code_suffix(c.code) for c in codes]},
    )
    return codes


@transaction.atomic(durable=True)
def deactivate_invite_codes(codes, *, actor: User | None, ip: str | None = None) -> list[str]:
    """Switch codes off (moderators: leaked posters, abused user codes). Already inactive codes
    are left alone; one audit line lists the codes actually switched off."""
    wanted = [normalize_code(code) for code in codes]
    switched = sorted(
        InviteCode.objects.select_for_update().filter(pk__in=wanted, is_active=True).values_list("pk", flat=True)
    )
    InviteCode.objects.filter(pk__in=switched).update(is_active=False)
    if switched:
        suffixes = [code_suffix(code) for code in switched]
        record_audit("invite_codes.deactivated", actor=actor, ip=ip, details={"code_suffixes": suffixes})
    return switched


def invite_code_qr_png(code: str) -> bytes:
    """The QR code (PNG) of a code's sign-up link: user codes (GET /api/me/invite-code.png) and
    admin poster codes (the admin's batch page) look the same."""
    image = qrcode.make(signup_url(code), box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def signup_url(code: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/?invite={code}"


def session_unlock_args() -> list:
    """The values of the QR unlock, from their one place each: the successful sessions it takes,
    the uses of the user's own code, and the access statuses it raises to qr_verified (those
    ranked below it: an unlock never moves a user down). Passed to rdv_apply_session_unlock,
    directly or through rdv_end_room."""
    return [SESSIONS_FOR_UNLOCK, InviteCode.USER_CODE_USES, statuses_below(User.AccessStatus.QR_VERIFIED)]


def apply_session_unlock(user_id) -> bool:
    """After a completion is counted: with 4 successful sessions the user is qr_unlocked and
    qr_verified (unless already higher) and gets an invite code of their own. Idempotent.
    The rule is the SQL function rdv_apply_session_unlock (referrals/sql/apply_session_unlock.sql),
    which the end of a room (rdv_end_room) runs in the same statement; this is its call from Python."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rdv_apply_session_unlock(%s::uuid, %s, %s, %s, %s, %s)",
            [str(user_id), random_code(INVITE_CODE_LENGTH), timezone.now(), *session_unlock_args()],
        )
        return cursor.fetchone()[0]
