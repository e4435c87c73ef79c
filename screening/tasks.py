"""The screening worker's task (its own queue, `screening`, so a slow classifier never delays
the sweeps): hash and score a new selfie or intro video."""

from celery import shared_task

from screening.media import scan_media


@shared_task(name="screening.scan_media", acks_late=True)
def scan_media_task(user_id: str, field: str, name: str) -> int:
    """Safe twice: apply_scan finds the rows of a redelivered task and stops."""
    return len(scan_media(user_id, field, name))
