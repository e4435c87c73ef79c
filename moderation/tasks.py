"""Celery jobs of the moderation app: users' data exports (moderation/exports.py). Both take
ids and are safe to run twice or side by side."""

from celery import shared_task

from moderation import exports


@shared_task(ignore_result=True)
def build_data_export(export_id: str) -> bool:
    """Queued by POST /api/me/export after commit: build, store, email the link."""
    return exports.build_export(export_id)


@shared_task(ignore_result=True)
def sweep_data_exports() -> dict:
    """Beat: pending exports whose queue message was lost; files of expired exports; old rows."""
    return exports.sweep_exports()
