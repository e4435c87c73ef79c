"""Celery tasks of the realtime domain. They take ids, call one service, and are safe to run
twice or side by side (services lock rows; sweeps SKIP LOCKED). Correctness never waits for
them: every reader checks timestamps itself."""

import logging

from celery import shared_task

from chat import presence, services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sweep_invites() -> int:
    return services.expire_overdue_invites()


@shared_task(ignore_result=True)
def sweep_rooms() -> int:
    """Beat, every few seconds: end overdue rooms, send inactivity warnings, and start the
    grace period for members whose sockets vanished without a goodbye (a killed process)."""
    acted = services.end_overdue_rooms()
    acted += services.start_grace_for_vanished_members()
    presence.prune()
    return acted


@shared_task(name=services.photos.SCREEN_TASK, acks_late=True, ignore_result=True)
def screen_call_photo(photo_id: str) -> str | None:
    """The image screening of a photo sent in a text call (the screening worker's queue). Safe
    twice: a decided photo is left as it is."""
    return services.screen_photo(photo_id)
