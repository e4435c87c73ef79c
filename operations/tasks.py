"""Celery beat sweeps and retention (the work is in operations.retention: batches claimed with
SKIP LOCKED, safe twice and side by side), and users' data exports (operations/exports.py).
The sweeps sit here, at the top layer, because retention reaches into every app's tables; each
keeps the task name it was first scheduled under (`accounts.tasks.*`, `chat.tasks.*`,
`moderation.tasks.*`), which is what beat and the broker know it by."""

from celery import shared_task

from operations import exports, retention


@shared_task(name="accounts.tasks.sweep_sessions", ignore_result=True)
def sweep_sessions() -> int:
    """Auth sessions expired more than RETENTION_SESSIONS_DAYS ago are deleted."""
    return retention.sweep_sessions()


@shared_task(name="accounts.tasks.sweep_locations", ignore_result=True)
def sweep_locations() -> int:
    """Locations past their 24 hours are deleted."""
    return retention.sweep_locations()


@shared_task(name="accounts.tasks.sweep_expired_guests", ignore_result=True)
def sweep_expired_guests() -> int:
    """Guest accounts past account_expires_at are deleted with their files (the account
    deletion path: live call ended properly, sessions revoked, audit line)."""
    return retention.sweep_expired_guests()


@shared_task(name="chat.tasks.sweep_cooldowns", ignore_result=True)
def sweep_cooldowns() -> int:
    """Beat: delete run-out cooldowns (a pair is free once expires_at passed, swept or not)."""
    return retention.sweep_cooldowns()


@shared_task(name="chat.tasks.apply_retention", ignore_result=True)
def apply_retention() -> dict:
    """Beat, hourly: scan attempts and old sessions deleted, messages of long-ended rooms and
    old chat history moved to the archive tables (operations.retention)."""
    return retention.apply_retention()


@shared_task(name="moderation.tasks.build_data_export", ignore_result=True)
def build_data_export(export_id: str) -> bool:
    """Queued by POST /api/me/export after commit: build, store, email the link."""
    return exports.build_export(export_id)


@shared_task(name="moderation.tasks.sweep_data_exports", ignore_result=True)
def sweep_data_exports() -> dict:
    """Beat: pending exports whose queue message was lost; files of expired exports; old rows."""
    return exports.sweep_exports()
