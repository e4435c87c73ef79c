"""Celery tasks of the USC card domain: safe twice and side by side (finalize locks the card
and the user, and is idempotent)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from usc_cards import services


@shared_task(ignore_result=True)
def finalize_unfinalized_scans() -> dict:
    """Beat: USC sign-ups whose registration was never finalized (the client skipped the
    permanent step and never called finalize-registration) are finalized and logged."""
    return services.finalize_unfinalized_scans(older_than=timedelta(minutes=settings.USC_FINALIZE_AFTER_MINUTES))
