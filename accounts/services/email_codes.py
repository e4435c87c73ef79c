"""6-digit email codes: from `secrets`, stored as an HMAC, 10-minute expiry,
5 wrong guesses burn the code, at most 3 sends per hour per user (all purposes together)."""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import EmailVerification, User
from config.errors import RateLimited

logger = logging.getLogger("rendezvous.security")

CODE_TTL = timedelta(minutes=10)
SENDS_PER_HOUR = 3
SEND_WINDOW = timedelta(hours=1)

SUBJECTS = {
    EmailVerification.Purpose.VERIFY_EMAIL: "Your Rendezvous verification code",
    EmailVerification.Purpose.RESET_PASSWORD: "Your Rendezvous password reset code",
    EmailVerification.Purpose.CARD_LOGIN: "Your Rendezvous sign-in code",
}


def code_digest(purpose: str, email: str, code: str) -> str:
    message = f"{purpose}:{email}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _send(email: str, purpose: str, code: str) -> None:
    body = f"Your code is {code}. It expires in 10 minutes. If you did not ask for it, ignore this email."
    send_mail(SUBJECTS[purpose], body, settings.DEFAULT_FROM_EMAIL, [email])


@transaction.atomic(savepoint=False)
def ensure_send_allowed(user: User) -> None:
    """Raise RateLimited once 3 codes went to this user in the last hour (any purpose). Locks
    the user row, so two parallel requests cannot both pass the count."""
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).get()
    now = timezone.now()
    recent = list(
        EmailVerification.objects.filter(user=user, created_at__gt=now - SEND_WINDOW)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) >= SENDS_PER_HOUR:
        retry = (recent[0] + SEND_WINDOW - now).total_seconds()
        raise RateLimited("At most 3 codes an hour; try again later.", retry_after=int(retry) + 1)


@transaction.atomic(savepoint=False)
def issue_code(user: User, *, email: str, purpose: str) -> EmailVerification:
    """Create a code for (user, purpose, email), replacing the user's earlier live code of that
    purpose, and email it after commit. Raises RateLimited past 3 sends an hour."""
    ensure_send_allowed(user)
    now = timezone.now()
    EmailVerification.objects.filter(user=user, purpose=purpose, consumed_at__isnull=True).update(consumed_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    verification = EmailVerification.objects.create(
        user=user,
        email=email,
        purpose=purpose,
        code_digest=code_digest(purpose, email, code),
        expires_at=now + CODE_TTL,
        created_at=now,
    )
    transaction.on_commit(lambda: _send(email, purpose, code), robust=True)
    logger.info("email code issued user=%s purpose=%s", user.pk, purpose)
    return verification


@dataclass(frozen=True)
class CodeCheck:
    verification: EmailVerification | None  # set when the code was right

    @property
    def ok(self) -> bool:
        return self.verification is not None


@transaction.atomic(savepoint=False)
def check_code(user: User, *, purpose: str, code: str) -> CodeCheck:
    """Compare `code` with the user's live code of this purpose. A right code is consumed; a
    wrong one counts an attempt, and the 5th wrong guess burns it. Returns the outcome
    instead of raising, so the caller commits the attempt count before refusing."""
    now = timezone.now()
    verification = (
        EmailVerification.objects.select_for_update()
        .filter(user=user, purpose=purpose, consumed_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if verification is None:
        return CodeCheck(None)
    candidate = str(code or "").strip()
    expected = code_digest(purpose, verification.email, candidate)
    if candidate.isdigit() and len(candidate) == 6 and hmac.compare_digest(expected, verification.code_digest):
        EmailVerification.objects.filter(pk=verification.pk).update(consumed_at=now)
        verification.consumed_at = now
        return CodeCheck(verification)
    burned = verification.attempts + 1 >= EmailVerification.MAX_ATTEMPTS
    EmailVerification.objects.filter(pk=verification.pk).update(
        attempts=F("attempts") + 1, consumed_at=now if burned else None
    )
    logger.warning(
        "wrong email code user=%s purpose=%s burned=%s", user.pk, purpose, burned, extra={"event": "email_code.refused"}
    )
    return CodeCheck(None)
