"""Consented, coarse locations for the reel's distance filter."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User, UserLocation
from config.errors import InvalidInput, RateLimited

UPDATE_INTERVAL = timedelta(minutes=30)
MAX_ACCURACY_M = 50_000
THREE_DECIMALS = Decimal("0.001")


def _coordinate(value, field: str, limit: int) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise InvalidInput("Not a number.", fields={field: ["Not a number."]}) from exc
    if not number.is_finite() or not -limit <= number <= limit:
        raise InvalidInput("Out of range.", fields={field: [f"Must be between -{limit} and {limit}."]})
    return number.quantize(THREE_DECIMALS, rounding=ROUND_HALF_UP)


@transaction.atomic(durable=True)
def set_location(user: User, *, latitude, longitude, accuracy_m) -> UserLocation:
    """Store my location rounded to 3 decimals (≈ 100 m), at most once per 30 minutes; it
    lapses after 24 h. Sharing it is consent (location_consent becomes true)."""
    lat = _coordinate(latitude, "latitude", 90)
    lon = _coordinate(longitude, "longitude", 180)
    if not isinstance(accuracy_m, int | float) or not 0 <= accuracy_m <= MAX_ACCURACY_M:
        raise InvalidInput("Too imprecise.", fields={"accuracy_m": ["Must be between 0 and 50000 metres."]})
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    now = timezone.now()
    # users.location_updated_at survives DELETE, so deleting and re-sharing cannot move a
    # location more often (which would let someone triangulate others through the buckets).
    last = user.location_updated_at
    if last and last > now - UPDATE_INTERVAL:
        retry = (last + UPDATE_INTERVAL - now).total_seconds()
        raise RateLimited("Location can be updated every 30 minutes.", retry_after=int(retry) + 1)
    position = {
        "latitude": lat,
        "longitude": lon,
        "accuracy_m": int(accuracy_m),
        "updated_at": now,
        "expires_at": now + UserLocation.LIFETIME,
    }
    # Consent is dated by the first share; later updates keep that date.
    location, _ = UserLocation.objects.update_or_create(
        user=user, defaults=position, create_defaults={**position, "consent_given_at": now}
    )
    User.objects.filter(pk=user.pk).update(location_consent=True, location_updated_at=now)
    return location


@transaction.atomic(durable=True)
def withdraw_location(user: User) -> None:
    """DELETE /api/me/location: the location is deleted and consent withdrawn."""
    UserLocation.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(location_consent=False)
