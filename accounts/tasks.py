"""Celery beat sweeps of account data that has run out (moderation.retention does the work:
batches claimed with SKIP LOCKED, safe twice and side by side)."""

from celery import shared_task

from moderation import retention


@shared_task(ignore_result=True)
def sweep_sessions() -> int:
    """Auth sessions expired more than RETENTION_SESSIONS_DAYS ago are deleted."""
    return retention.sweep_sessions()


@shared_task(ignore_result=True)
def sweep_locations() -> int:
    """Locations past their 24 hours are deleted."""
    return retention.sweep_locations()


@shared_task(ignore_result=True)
def sweep_expired_guests() -> int:
    """Guest accounts past account_expires_at are deleted with their files (the account
    deletion path: live call ended properly, sessions revoked, audit line)."""
    return retention.sweep_expired_guests()
