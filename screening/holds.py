"""Selectors for account holds (a look-alike of a banned person, waiting for a moderator)."""

from django.db.models import Exists, OuterRef

from screening.models import AccountHold


def held_subquery(outer: str = "pk") -> Exists:
    """For a User queryset: the row's account is held."""
    return Exists(AccountHold.objects.filter(user_id=OuterRef(outer), released_at__isnull=True))


def is_held_filter(user_id) -> Exists:
    """For any queryset: this user is held (a constant subquery, evaluated once)."""
    return Exists(AccountHold.objects.filter(user_id=user_id, released_at__isnull=True))
