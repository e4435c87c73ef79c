"""USC card reads: who holds a card, the per-IP distinct-card count, unfinalized sign-ups."""

from datetime import datetime, timedelta

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from usc_cards.models import UNCOUNTED_OUTCOMES, USCCardRegistration, USCScanAttempt

CARD_COUNT_WINDOW = timedelta(hours=24)


def card_is_bound(usc_id_hash: str) -> bool:
    """Registered, or held by a user whose registration is still pending finalization."""
    return (
        USCCardRegistration.objects.filter(usc_id_hash=usc_id_hash).exists()
        or User.objects.filter(usc_id_hash=usc_id_hash).exists()
    )


def get_user_for_card(usc_id_hash: str) -> User | None:
    """The account holding this card (users.usc_id_hash is set before the registration and
    is unique, so it also finds sign-ups whose registration is not finalized yet)."""
    return User.objects.filter(usc_id_hash=usc_id_hash).first()


def get_registration(user) -> USCCardRegistration | None:
    return USCCardRegistration.objects.filter(user=user).first()


def cards_scanned_from_ip(ip: str | None, *, now: datetime) -> dict[str, datetime]:
    """Distinct valid cards scanned from `ip` in the last 24 h → the latest scan of each.
    Scans refused before the card was looked at (limits, IP bans) do not count.
    Index: usc_scans_ip_scanned (ip, scanned_at)."""
    rows = (
        USCScanAttempt.objects.filter(ip=ip, scanned_at__gt=now - CARD_COUNT_WINDOW, passed_validation=True)
        .exclude(outcome__in=UNCOUNTED_OUTCOMES)
        .values("usc_id_hash")
        .annotate(latest=Max("scanned_at"))
    )
    return {row["usc_id_hash"]: row["latest"] for row in rows}


def list_unfinalized_scans(*, older_than: timedelta = timedelta(0)) -> QuerySet[User]:
    """USC sign-ups (users.usc_id_hash set) with no usc_card_registrations row, whose card
    was bound more than `older_than` ago: what finalize-registration should have written."""
    cutoff = timezone.now() - older_than
    return (
        User.objects.filter(usc_id_hash__isnull=False, usc_card__isnull=True)
        .filter(Q(usc_verified_at__lte=cutoff) | Q(usc_verified_at__isnull=True, created_at__lte=cutoff))
        .order_by("created_at")
    )
