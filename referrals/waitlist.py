"""The waitlist: while sign-up is invite-only, a visitor without a code leaves name, school,
state and email, and counts once the 6-digit code emailed to them is typed back (the rules
of accounts.services.email_codes: HMAC-stored, 10-minute expiry, 5 wrong guesses burn it,
3 sends an hour per address). Staff send selected verified people an admin invite code.

No account enumeration: `join` answers the same whatever the address is (an account, already
listed, new) and every path sends one email (a code, or a note saying there is nothing to
do), after commit; `verify` answers "wrong code" alike for unknown addresses.

Mails are capped per target address, whoever asks from wherever: SENDS_PER_HOUR (3) an hour.
A new address counts its code sends on its waitlist row (PostgreSQL); the notes to an address
that has an account, or is already on the list, count on a Redis window keyed by a digest of
the address (a lost counter only lets a few more notes through). Past the cap the answer is the
same and nothing is sent."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.services.email_codes import CODE_TTL, SEND_WINDOW, SENDS_PER_HOUR, code_digest
from audit.services import record_audit
from config.errors import InvalidInput, RateLimited
from config.ratelimit import Limit
from referrals.models import InviteCode, WaitlistEntry
from referrals.services import INVITE_CODE_LENGTH, random_code, signup_url

logger = logging.getLogger("rendezvous.waitlist")

PURPOSE = "waitlist"
JOIN_MESSAGE = "Check your inbox: if this address can join the waitlist, a 6-digit code is on its way."


class InvalidWaitlistCode(InvalidInput):
    code = "invalid_code"
    message = "That code is not valid (or it expired); ask for a new one."

    def __init__(self, message=None, **kwargs):
        super().__init__(message, fields={"code": [message or self.message]}, **kwargs)


def _mail(email: str, subject: str, body: str) -> None:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])


def _after_commit_mail(email: str, subject: str, body: str) -> None:
    transaction.on_commit(lambda: _mail(email, subject, body), robust=True)


NOTES_TO_ADDRESS = Limit("waitlist_notes_to", SENDS_PER_HOUR, int(SEND_WINDOW.total_seconds()))


def _note_allowed(email: str) -> bool:
    """Whether one more note may go to `email` this hour (the per-address cap of the notes)."""
    try:
        NOTES_TO_ADDRESS.hit(hashlib.sha256(email.encode()).hexdigest()[:32])
    except RateLimited:
        logger.warning("waitlist: note limit reached for an address")  # same answer, nothing sent
        return False
    return True


@transaction.atomic(durable=True)
def join(*, name: str, school: str, state: str, email: str, ip: str | None = None) -> str:
    """Add or refresh an unverified entry and email it a code; the answer (JOIN_MESSAGE) is
    the same in every case. The row is upserted in one statement and locked, so parallel
    submissions of one address make one entry and count their sends exactly."""
    email = email.strip().lower()
    now = timezone.now()
    if User.objects.filter(email=email).exists():
        if not _note_allowed(email):
            return JOIN_MESSAGE
        _after_commit_mail(
            email,
            "Your Rendezvous waitlist request",
            "This address already has a Rendezvous account: log in instead. If you did not ask, ignore this email.",
        )
        logger.info("waitlist join for an existing account")
        return JOIN_MESSAGE
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO waitlist_entries (email, name, school, state, ip, code_digest, code_attempts, code_sends,
                                          created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, '', 0, 0, %s, %s)
            ON CONFLICT (email) DO NOTHING
            """,
            [email, name, school, state, ip, now, now],
        )
    entry = WaitlistEntry.objects.select_for_update().get(email=email)
    if entry.verified_at is not None:
        if not _note_allowed(email):
            return JOIN_MESSAGE
        _after_commit_mail(
            email,
            "You are on the Rendezvous waitlist",
            "You are already on the waitlist; we will email you an invite code. Nothing else to do.",
        )
        return JOIN_MESSAGE
    if entry.code_window_start is None or entry.code_window_start <= now - SEND_WINDOW:
        entry.code_window_start, entry.code_sends = now, 0
    if entry.code_sends >= SENDS_PER_HOUR:
        logger.warning("waitlist: send limit reached for an address")  # same answer, nothing sent
        return JOIN_MESSAGE
    code = f"{secrets.randbelow(10**6):06d}"
    entry.name, entry.school, entry.state, entry.ip = name, school, state, ip
    entry.code_digest = code_digest(PURPOSE, email, code)
    entry.code_expires_at, entry.code_attempts = now + CODE_TTL, 0
    entry.code_sends += 1
    entry.updated_at = now
    entry.save()
    _after_commit_mail(
        email,
        "Your Rendezvous waitlist code",
        f"Your code is {code}. It expires in 10 minutes. If you did not ask for it, ignore this email.",
    )
    return JOIN_MESSAGE


def _check(email: str, code: str) -> WaitlistEntry | None:
    now = timezone.now()
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(email=email.strip().lower(), verified_at__isnull=True, code_expires_at__gt=now)
        .exclude(code_digest="")
        .first()
    )
    if entry is None:
        return None
    candidate = str(code or "").strip()
    expected = code_digest(PURPOSE, entry.email, candidate)
    if candidate.isdigit() and len(candidate) == 6 and hmac.compare_digest(expected, entry.code_digest):
        WaitlistEntry.objects.filter(pk=entry.pk).update(verified_at=now, code_digest="", updated_at=now)
        entry.refresh_from_db()
        return entry
    burned = entry.code_attempts + 1 >= WaitlistEntry.MAX_ATTEMPTS
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        code_attempts=F("code_attempts") + 1, code_digest="" if burned else F("code_digest")
    )
    logger.warning("wrong waitlist code burned=%s", burned)
    return None


def verify(*, email: str, code: str) -> WaitlistEntry:
    """Type the code back: the entry counts from now on. A wrong guess is committed (5 burn
    the code) before the refusal, which is the same for an unknown address."""
    with transaction.atomic(durable=True):
        entry = _check(email, code)
    if entry is None:
        raise InvalidWaitlistCode()
    logger.info("waitlist entry %s verified", entry.pk)
    return entry


def invite_entries(entry_ids, *, moderator, ip: str | None = None) -> int:
    """Send each selected verified, not yet invited entry its own single-use admin invite code
    by email (one transaction per entry: code, entry update and audit line together). Returns
    how many were invited."""
    invited = 0
    for entry_id in entry_ids:
        with transaction.atomic(durable=True):
            entry = (
                WaitlistEntry.objects.select_for_update()
                .filter(pk=entry_id, verified_at__isnull=False, invited_at__isnull=True)
                .first()
            )
            if entry is None:
                continue
            code = InviteCode.objects.create(
                code=random_code(INVITE_CODE_LENGTH),
                type=InviteCode.Type.ADMIN,
                created_by_name=f"waitlist: {moderator.name if moderator else 'staff'}"[:60],
                max_uses=1,
                uses_remaining=1,
            )
            now = timezone.now()
            WaitlistEntry.objects.filter(pk=entry.pk).update(invite_code=code, invited_at=now, updated_at=now)
            record_audit(
                "waitlist.invited",
                actor=moderator,
                ip=ip,
                details={"entry": entry.pk, "email": entry.email, "invite_code": code.code},
            )
            _after_commit_mail(
                entry.email,
                "Your Rendezvous invite",
                f"Hi {entry.name}, you are in! Sign up with this invite code: {code.code}\n{signup_url(code.code)}",
            )
            invited += 1
    return invited


CSV_COLUMNS = ("email", "name", "school", "state", "created_at", "verified_at", "invited_at", "invite_code_id")


def export_csv(queryset) -> str:
    """The entries as CSV (a spreadsheet-safe export: cells starting with = + - @ are quoted
    with a leading apostrophe so no formula runs)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in queryset.order_by("created_at").values_list(*CSV_COLUMNS).iterator():
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
