"""One sign-in budget per address and one per account, whichever door is knocked on.

The API login (`POST /api/auth/login`) and the moderators' admin login (`/admin/login/`) count
against the same two Redis counters, so a guesser cannot switch doors to get a fresh budget:

- per address (settings.RATE_LIMITS["login"], 10 a minute): every attempt counts, right or
  wrong; over it, both doors refuse that address until the window ends;
- per account (settings.RATE_LIMITS["login_account"], 10 an hour): failed attempts count,
  keyed by a digest of the normalised email (an unknown address is counted exactly like a
  real one, and no address sits in Redis in clear); at the limit the account refuses even the
  right password, from any address, until the window ends.

A lockout (the moment a budget runs out) writes one audit line `auth.login_locked`, with the
door, the budget and the account if it exists; later refusals in the same window do not (an
attacker cannot flood the audit log). Kept on our own counters rather than a library's: they are
already shared by every process, need no table, and give the API its 429 with Retry-After."""

import hashlib

from django.conf import settings

from accounts.models import User
from accounts.selectors import get_user_by_email
from audit.services import record_audit
from config.api import parse_rate
from config.errors import RateLimited
from config.ratelimit import Limit
from config.transactions import commit_then_refuse, durable_with_committed_refusals

API_DOOR = "api"
ADMIN_DOOR = "admin"


def address_limit() -> Limit:
    """Every sign-in attempt from one address (the key the REST throttle of the card login shares)."""
    max_hits, window = parse_rate(settings.RATE_LIMITS["login"])
    return Limit("login", max_hits, window)


def account_limit(email: str | None) -> tuple[Limit, str]:
    """The per-account failed-login counter and its subject (a digest of the normalised email)."""
    max_hits, window = parse_rate(settings.RATE_LIMITS["login_account"])
    digest = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()
    return Limit("login_account", max_hits, window), digest


def count_login_attempt(email: str | None, *, ip: str | None, door: str) -> None:
    """Count this attempt for its address, then refuse (RateLimited) if the address or the
    account has no budget left. Inside a `@durable_with_committed_refusals` service: the
    first refusal of a window is a lockout and its audit line is committed."""
    limit = address_limit()
    count, retry_after = limit.count(f"ip:{ip}")
    if count > limit.max_hits:
        if count == limit.max_hits + 1:
            record_audit("auth.login_locked", ip=ip, details={"budget": "address", "door": door})
            commit_then_refuse(RateLimited(retry_after=retry_after))
        raise RateLimited(retry_after=retry_after)
    limit, subject = account_limit(email)
    limit.check(subject)


def count_login_failure(email: str | None, user: User | None, *, ip: str | None, door: str) -> bool:
    """Count a failed attempt against the account; True if this failure used up its budget (a
    lockout, audited in the caller's transaction, which must commit it)."""
    limit, subject = account_limit(email)
    count, _ = limit.count(subject)
    if count != limit.max_hits:
        return False
    record_audit("auth.login_locked", target=user, ip=ip, details={"budget": "account", "door": door})
    return True


@durable_with_committed_refusals
def start_admin_login(email: str | None, *, ip: str | None) -> None:
    """The admin login form's gate, before the password is checked (see count_login_attempt)."""
    count_login_attempt(email, ip=ip, door=ADMIN_DOOR)


@durable_with_committed_refusals
def fail_admin_login(email: str | None, *, ip: str | None) -> None:
    """The admin login form's wrong email or password: counted for the account, lockout audited."""
    user = get_user_by_email(email or "")
    count_login_failure(email, user, ip=ip, door=ADMIN_DOOR)
