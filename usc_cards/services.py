"""USC card writes: scans, finalize-registration, card login.

Card IDs exist only inside a request: parse_card reads them, card_hash turns them into the
HMAC we store with the last 4 digits. Every scan writes a usc_scan_attempts row, including
refused ones (those services are @durable_with_committed_refusals and refuse with
commit_then_refuse, which commits the row before raising).

Lock order, everywhere: the scanning IP (an advisory lock, for the distinct-card count),
then the card (an advisory lock on its HMAC), then the scan attempt row, then the user row;
all are held until the transaction ends. Two people finalizing one card therefore queue on the
card lock and the second sees the first's registration; the unique indexes on
users.usc_id_hash and usc_card_registrations (usc_id_hash, user) back this up."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.errors import Banned, InvalidCode, IPBanned
from accounts.models import EmailVerification, User
from accounts.selectors import is_banned, is_ip_banned
from accounts.services.access import grant_access
from accounts.services.email_codes import check_code, issue_code
from accounts.services.sessions import start_session
from audit.services import record_audit
from config.errors import RateLimited, ServiceError
from config.ratelimit import Limit
from config.transactions import commit_then_refuse, durable_with_committed_refusals
from usc_cards import selectors
from usc_cards.barcode import ParsedCard, card_hash, parse_card
from usc_cards.errors import (
    CardAccountExpired,
    CardLoginNeedsEmail,
    CardNotRegistered,
    CardRegistered,
    CardTaken,
    InvalidCard,
    InvalidScanToken,
    NoPendingScan,
    OtherCardRegistered,
    ScanTokenUsed,
)
from usc_cards.models import USCCardRegistration, USCScanAttempt
from usc_cards.tokens import SCAN_TOKEN_MAX_AGE, ScanClaim, issue_scan_token, read_scan_token

logger = logging.getLogger("rendezvous.security")

Outcome = USCScanAttempt.Outcome
Purpose = USCScanAttempt.Purpose
_THE_USER = object()  # finalize_registration's default actor: the user themselves


# --- locks and limits -------------------------------------------------------------------------


def _advisory_lock(name: str) -> None:
    """A PostgreSQL advisory lock held until the transaction ends (commit or rollback)."""
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def lock_card(usc_id_hash: str) -> None:
    _advisory_lock(f"usc_card:{usc_id_hash}")


def scan_limit() -> Limit:
    """Scans per IP per window (10 per 10 minutes), counted in Redis."""
    return Limit("usc_scan", settings.USC_SCANS_PER_WINDOW, settings.USC_SCAN_WINDOW_SECONDS)


def _card_limit_error(usc_id_hash: str, ip: str | None, now: datetime) -> RateLimited | None:
    """An IP that scanned 3 distinct valid cards in 24 h gets 429 for a further card
    (re-scanning one of those 3 stays allowed). Counted from usc_scan_attempts, so the count
    is durable and shared by every process; the per-IP advisory lock makes the count and
    the insert that follows one step for parallel requests."""
    _advisory_lock(f"usc_scan_ip:{ip}")
    seen = selectors.cards_scanned_from_ip(ip, now=now)
    limit = settings.USC_DISTINCT_CARDS_PER_IP
    if usc_id_hash in seen or len(seen) < limit:
        return None
    # The count drops below the limit when enough cards' latest scans are 24 h old.
    frees_at = sorted(seen.values())[len(seen) - limit] + selectors.CARD_COUNT_WINDOW
    return RateLimited(
        "Too many different cards were scanned from this network today; try again later.",
        retry_after=int((frees_at - now).total_seconds()) + 1,
    )


# --- scans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    attempt: USCScanAttempt
    card: ParsedCard

    def finish(self, outcome: str, **fields) -> None:
        """Record how this scan ended (the row was written when the scan came in)."""
        self.attempt.outcome = outcome
        for name, value in fields.items():
            setattr(self.attempt, name, value)
        self.attempt.save(update_fields=["outcome", *fields])


@transaction.atomic(savepoint=False)
def _scan(raw, *, purpose: str, ip: str | None, user_agent: str) -> tuple[Scan, ServiceError | None]:
    """Read a scan and write its usc_scan_attempts row (HMAC + last 4 only), applying the
        checks every scan gets, in order: IP ban, scans per window (Redis), a valid card, the
        distinct-card limit. Returns the scan and the refusal, if any, for the caller to refuse
    with commit_then_refuse (the attempt row stays)."""
    now = timezone.now()
    card = parse_card(raw)
    usc_id_hash = card_hash(card.usc_id) if card.usc_id else None
    error: ServiceError | None = None
    outcome = Outcome.ACCEPTED
    if is_ip_banned(ip):
        error, outcome = IPBanned(), Outcome.IP_BANNED
    else:
        try:
            scan_limit().hit(f"ip:{ip}")
        except RateLimited as exc:
            error, outcome = exc, Outcome.RATE_LIMITED
    if error is None and not card.ok:
        error, outcome = InvalidCard(card.message, fields={"barcode": [card.message]}), Outcome.INVALID
    if error is None:
        error = _card_limit_error(usc_id_hash, ip, now)
        outcome = Outcome.CARD_LIMIT if error else outcome
    attempt = USCScanAttempt.objects.create(
        usc_id_hash=usc_id_hash,
        last4=card.last4 if usc_id_hash else "",
        barcode_format=card.barcode_format,
        passed_validation=card.ok,
        validation_errors=list(card.errors),
        ip=ip,
        user_agent=(user_agent or "")[:512],
        scanned_at=now,
        purpose=purpose,
        outcome=outcome,
    )
    if error is not None:
        logger.info(
            "usc scan refused purpose=%s outcome=%s ip=%s last4=%s",
            purpose,
            outcome,
            ip,
            attempt.last4,
            extra={"event": "usc_scan.refused"},
        )
    return Scan(attempt=attempt, card=card), error


@dataclass(frozen=True)
class ScanResult:
    scan_token: str
    last4: str
    barcode_format: str
    expires_at: datetime


@durable_with_committed_refusals
def verify_card(raw, *, ip: str | None, user_agent: str = ""):
    """verify-card: a scan for sign-up (or for finalize-registration of an existing account).
    A card already bound to an account → 409 card_registered. Otherwise a signed 30-minute
    scan token carrying the card's HMAC."""
    scan, error = _scan(raw, purpose=Purpose.SIGNUP, ip=ip, user_agent=user_agent)
    if error is not None:
        commit_then_refuse(error)
    attempt = scan.attempt
    if selectors.card_is_bound(attempt.usc_id_hash):
        scan.finish(Outcome.CARD_REGISTERED)
        commit_then_refuse(CardRegistered())
    token = issue_scan_token(
        usc_id_hash=attempt.usc_id_hash,
        last4=attempt.last4,
        barcode_format=attempt.barcode_format,
        attempt_id=attempt.pk,
    )
    return ScanResult(
        scan_token=token,
        last4=attempt.last4,
        barcode_format=attempt.barcode_format,
        expires_at=attempt.scanned_at + SCAN_TOKEN_MAX_AGE,
    )


# --- sign-up and finalize-registration ----------------------------------------------------------


def _claimed_attempt(claim: ScanClaim) -> USCScanAttempt:
    """The accepted scan a token names, locked. A token naming any other row is refused."""
    attempt = (
        USCScanAttempt.objects.select_for_update()
        .filter(pk=claim.attempt_id, usc_id_hash=claim.usc_id_hash, outcome=Outcome.ACCEPTED)
        .first()
    )
    if attempt is None:
        raise InvalidScanToken()
    return attempt


@transaction.atomic(savepoint=False)
def claim_scan_for_signup(scan_token: str) -> ScanClaim:
    """Part of USC sign-up (onboarding.services), in its transaction: a valid token of
    a scan that has not made an account yet, for a card nobody holds. Locks the card and
    the attempt until the sign-up commits; the caller creates the user with the card's
    HMAC (bind_new_user) in the same transaction."""
    claim = read_scan_token(scan_token)
    lock_card(claim.usc_id_hash)
    attempt = _claimed_attempt(claim)
    if attempt.resulted_in_signup:
        raise ScanTokenUsed()
    if selectors.card_is_bound(claim.usc_id_hash):
        raise CardRegistered()
    return claim


@transaction.atomic(savepoint=False)
def bind_new_user(user: User, claim: ScanClaim) -> None:
    """The new user holds the card (registration pending until finalize-registration):
    usc_id_hash set, access qr_verified, the scan marked as having made an account."""
    now = timezone.now()
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(usc_id_hash=claim.usc_id_hash, usc_verified_at=now)
    except IntegrityError as exc:
        raise CardTaken() from exc
    user.usc_id_hash, user.usc_verified_at = claim.usc_id_hash, now
    grant_access(user, User.AccessStatus.QR_VERIFIED)
    USCScanAttempt.objects.filter(pk=claim.attempt_id).update(resulted_in_signup=True)


def _source_attempt(usc_id_hash: str, claim: ScanClaim | None) -> USCScanAttempt | None:
    """The scan a registration is written from (last 4, format, first scan time and IP)."""
    if claim is not None:
        return USCScanAttempt.objects.filter(pk=claim.attempt_id).first()
    scans = USCScanAttempt.objects.filter(usc_id_hash=usc_id_hash, passed_validation=True)
    return scans.filter(resulted_in_signup=True).order_by("-scanned_at").first() or scans.order_by("scanned_at").first()


@transaction.atomic(savepoint=False)
def finalize_registration(
    user: User, *, claim: ScanClaim | None = None, via: str, ip: str | None = None, actor=_THE_USER
) -> USCCardRegistration | None:
    """Write the user's usc_card_registrations row (composable: joins the caller's
    transaction). The card is the user's pending one (users.usc_id_hash, set at USC
    sign-up) or, for an account that has none yet, the card of a scan token. Idempotent:
    the same user and card again returns the existing row. 409 when the card is bound to
    someone else or the user to another card. Returns None when nothing is pending. The
    audit row's actor is the user unless given (a moderator; None for the sweep)."""
    if claim is not None:
        usc_id_hash = claim.usc_id_hash
    else:
        usc_id_hash = User.objects.filter(pk=user.pk).values_list("usc_id_hash", flat=True).first()
    if not usc_id_hash:
        return selectors.get_registration(user)
    lock_card(usc_id_hash)
    if claim is not None:
        _claimed_attempt(claim)
    user = User.objects.select_for_update().get(pk=user.pk)
    existing = selectors.get_registration(user)
    if existing is not None:
        if existing.usc_id_hash == usc_id_hash:
            return existing
        raise OtherCardRegistered()
    if user.usc_id_hash and user.usc_id_hash != usc_id_hash:
        raise OtherCardRegistered()
    if USCCardRegistration.objects.filter(usc_id_hash=usc_id_hash).exists():
        raise CardTaken()
    source = _source_attempt(usc_id_hash, claim)
    if source is None:
        # Only possible if the scan rows were purged before finalizing: nothing to write from.
        logger.error("usc finalize impossible: no scan row user=%s", user.pk, extra={"event": "usc_finalize.failed"})
        raise NoPendingScan()
    if not user.usc_id_hash:
        bind_new_user(user, claim)
    try:
        with transaction.atomic():
            registration = USCCardRegistration.objects.create(
                usc_id_hash=usc_id_hash,
                last4=source.last4,
                user=user,
                barcode_format=source.barcode_format,
                first_scanned_at=source.scanned_at,
                first_scanned_ip=source.ip,
            )
    except IntegrityError as exc:
        raise CardTaken() from exc
    record_audit(
        "usc_card.registered",
        actor=user if actor is _THE_USER else actor,
        target=user,
        ip=ip,
        details={"last4": registration.last4, "via": via},
    )
    return registration


@durable_with_committed_refusals
def finalize_registration_request(user: User, *, scan_token: str | None, ip: str | None):
    """POST /api/usc/finalize-registration: the signed-in user is the card's owner (never a
    body field). Without a token, the user's pending card; 409 no_pending_scan if none."""
    claim = read_scan_token(scan_token) if scan_token else None
    registration = finalize_registration(user, claim=claim, via="finalize", ip=ip)
    if registration is None:
        raise NoPendingScan()  # nothing was written
    return registration


def finalize_each(users, *, via: str, actor: User | None = None, ip: str | None = None) -> dict:
    """Finalize these users' pending registrations, each in its own transaction (beat sweep,
    admin action). A refusal is logged and skipped: the user stays listed as unfinalized."""
    done, failed = 0, 0
    for user in users:
        try:
            with transaction.atomic(durable=True):
                if finalize_registration(user, via=via, actor=actor, ip=ip) is not None:
                    done += 1
        except ServiceError as exc:
            failed += 1
            logger.warning(
                "usc finalize failed user=%s via=%s code=%s",
                user.pk,
                via,
                exc.code,
                extra={"event": "usc_finalize.failed"},
            )
    return {"finalized": done, "failed": failed}


def finalize_unfinalized_scans(*, older_than: timedelta, batch_size: int = 100) -> dict:
    """Beat sweep: the USC sign-ups left pending for longer than `older_than` (the client
    never called finalize-registration nor took the permanent step) are logged and finalized."""
    users = list(selectors.list_unfinalized_scans(older_than=older_than)[:batch_size])
    result = {"pending": len(users), **finalize_each(users, via="sweep")}
    if users:
        logger.warning(
            "usc finalize sweep: sign-ups never finalized %s", result, extra={"event": "usc_finalize.overdue"}
        )
    return result


# --- card login -----------------------------------------------------------------------------------


def email_hint(email: str) -> str:
    """a•••@usc.edu: enough for the card holder to know where the code went."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def _card_login_account(scan: Scan, *, ip: str | None) -> tuple[User | None, ServiceError | None]:
    """The account a login scan names, locked, with its registration finalized; or the
    refusal: no such account (404), banned (403, audited), expired guest (410), no
    verified email (409)."""
    usc_id_hash = scan.attempt.usc_id_hash
    lock_card(usc_id_hash)
    holder = selectors.get_user_for_card(usc_id_hash)
    # Re-read under the row lock: the account may have been deleted since (deletion does not
    # take the card lock).
    user = User.objects.select_for_update().filter(pk=holder.pk).first() if holder else None
    if user is None or not user.is_active:
        scan.finish(Outcome.NOT_REGISTERED)
        return None, CardNotRegistered()
    now = timezone.now()
    if is_banned(user, now):
        scan.finish(Outcome.REFUSED)
        record_audit(
            "auth.banned_login_refused",
            target=user,
            ip=ip,
            details={"ban_status": user.ban_status, "via": "usc_card"},
        )
        return None, Banned(ban_status=user.ban_status)
    if user.account_type == User.AccountType.GUEST and user.account_expires_at and user.account_expires_at <= now:
        scan.finish(Outcome.REFUSED)
        return None, CardAccountExpired()
    if not (user.email and user.email_verified):
        scan.finish(Outcome.REFUSED)
        return None, CardLoginNeedsEmail()
    finalize_registration(user, via="card_login", ip=ip)
    return user, None


def _card_login_scan(raw, *, purpose: str, ip: str | None, user_agent: str):
    """Both card-login steps: the scan (its row and limits), then the account it names.
    Returns (scan, user, None), or the refusal as the third item."""
    scan, error = _scan(raw, purpose=purpose, ip=ip, user_agent=user_agent)
    if error is not None:
        return scan, None, error
    user, error = _card_login_account(scan, ip=ip)
    return scan, user, error


@dataclass(frozen=True)
class CardLoginStarted:
    email_hint: str


@durable_with_committed_refusals
def start_card_login(raw, *, ip: str | None, user_agent: str = ""):
    """Card login, step 1: a scan → a 6-digit code to the account's verified email. A card
    number alone is never a credential (it is printed on the card and guessable)."""
    scan, user, error = _card_login_scan(raw, purpose=Purpose.LOGIN_START, ip=ip, user_agent=user_agent)
    if error is not None:
        commit_then_refuse(error)
    try:
        with transaction.atomic():
            issue_code(user, email=user.email, purpose=EmailVerification.Purpose.CARD_LOGIN)
    except RateLimited as exc:
        scan.finish(Outcome.REFUSED)
        commit_then_refuse(exc)
    scan.finish(Outcome.CODE_SENT)
    return CardLoginStarted(email_hint=email_hint(user.email))


@durable_with_committed_refusals
def complete_card_login(raw, code: str, *, ip: str | None, user_agent: str = ""):
    """Card login, step 2: the same card scanned again + the emailed code → a session (the
    single-session rule ends the others), card login counters updated. A wrong code counts
    towards burning it (committed before the refusal)."""
    scan, user, error = _card_login_scan(raw, purpose=Purpose.LOGIN_COMPLETE, ip=ip, user_agent=user_agent)
    if error is not None:
        commit_then_refuse(error)
    result = check_code(user, purpose=EmailVerification.Purpose.CARD_LOGIN, code=code)
    if not result.ok or result.verification.email != user.email:
        scan.finish(Outcome.WRONG_CODE)
        commit_then_refuse(InvalidCode(fields={"code": ["That code is not valid or has expired."]}))
    token = start_session(user, ip=ip, user_agent=user_agent)
    now = timezone.now()
    USCCardRegistration.objects.filter(user=user).update(
        last_login_via_card_at=now, total_card_logins=F("total_card_logins") + 1
    )
    User.objects.filter(pk=user.pk).update(last_login=now)
    scan.finish(Outcome.LOGGED_IN, resulted_in_login=True)
    logger.info("card login user=%s ip=%s", user.pk, ip)
    user.refresh_from_db()
    return user, token
