"""A user's own data export (README → My data): requested over the API, built by a Celery job,
downloaded only by its owner for 24 hours, one a day.

- request_export: one transaction with the user's row locked, so parallel requests count each
  other; the day's count is read from data_exports (PostgreSQL, not a Redis throttle). The job
  is queued after commit; a lost queue message is picked up by the beat sweep.
- build_export: the document is operations.user_data.user_document (the same as `manage.py
  export_user`: only the user's own rows and the messages of rooms they were in, no report
  snapshots of others), written under exports/ with a random name, then the row turns ready in
  a transaction that claims it, so two workers never both publish one; the email follows commit.
- open_download: the owner's row only (404 for everyone else alike), ready, not past
  expires_at (410; checked here, the sweep only deletes files). Audited, coalesced: the first
  download writes an audit line and later ones write another only once DOWNLOAD_AUDIT_EVERY has
  passed since the last download (the row's `downloads` counts every one)."""

import logging
import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.locks import lock_users
from audit.services import record_audit
from config.errors import RateLimited
from moderation.errors import ExportExpired, ExportNotFound, ExportNotReady
from moderation.models import DataExport
from operations.user_data import export_user

logger = logging.getLogger("rendezvous.exports")

FOLDER = "exports"
STALE_PENDING_SECONDS = 60  # the sweep builds a pending export this old (its queue message was lost)
ORPHAN_AFTER = timedelta(hours=1)
DOWNLOAD_AUDIT_EVERY = timedelta(hours=1)
KEEP_ROWS = DataExport.PER_DAY * 2  # rows are kept past their file for the 1-a-day count, then deleted


class ExportLimited(RateLimited):
    code = "rate_limited"
    message = "One data export a day; your last one is still counted."


def _queue(export_id) -> None:
    from operations.tasks import build_data_export

    build_data_export.delay(str(export_id))


def request_export(user: User, *, ip: str | None = None) -> DataExport:
    """POST /api/me/export: a pending export, or 429 with the seconds until the next is allowed."""
    with transaction.atomic():
        lock_users(user.pk)
        now = timezone.now()
        last = (
            DataExport.objects.filter(user=user, requested_at__gt=now - DataExport.PER_DAY)
            .exclude(status=DataExport.Status.FAILED)
            .order_by("-requested_at")
            .first()
        )
        if last is not None:
            wait = last.requested_at + DataExport.PER_DAY - now
            raise ExportLimited(retry_after=math.ceil(wait.total_seconds()))
        export = DataExport.objects.create(user=user, requested_at=now)
        record_audit("user.export_requested", actor=user, target=user, ip=ip, details={"export": str(export.pk)})
        transaction.on_commit(lambda: _queue(export.pk), robust=True)
    return export


def build_export(export_id) -> bool:
    """The Celery job: build, store and publish one pending export; True if this call did."""
    export = DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).select_related("user").first()
    if export is None:
        return False  # done already, failed, or gone with its account
    try:
        data = export_user(export.user, actor_description=f"data export {export.pk}").encode()
        name = default_storage.save(f"{FOLDER}/{secrets.token_hex(16)}.json", ContentFile(data))
    except Exception:
        logger.exception("data export %s failed", export.pk, extra={"event": "export.failed"})
        DataExport.objects.filter(pk=export.pk, status=DataExport.Status.PENDING).update(
            status=DataExport.Status.FAILED
        )
        return False
    with transaction.atomic():
        claimed = DataExport.objects.select_for_update().filter(pk=export.pk, status=DataExport.Status.PENDING).first()
        if claimed is None:  # another worker published it first
            transaction.on_commit(lambda: default_storage.delete(name))
            return False
        now = timezone.now()
        claimed.status, claimed.ready_at, claimed.expires_at = DataExport.Status.READY, now, now + DataExport.TTL
        claimed.file, claimed.size_bytes = name, len(data)
        claimed.save(update_fields=["status", "ready_at", "expires_at", "file", "size_bytes"])
        user = export.user
        if user.email and user.email_verified:
            transaction.on_commit(lambda: _email(user.email, claimed), robust=True)
    logger.info("data export %s ready (%s bytes)", export.pk, claimed.size_bytes)
    return True


def download_page_url(export: DataExport) -> str:
    """Where the owner downloads it: the settings page, which fetches the file with their token."""
    return f"{settings.SITE_URL.rstrip('/')}/settings?export={export.pk}#my-data"


def _email(address: str, export: DataExport) -> None:
    body = (
        "Your Rendezvous data export is ready.\n\n"
        f"Open {download_page_url(export)} while signed in to download it.\n"
        f"It works only for your account and until {export.expires_at:%Y-%m-%d %H:%M} UTC (24 hours).\n"
    )
    send_mail("Your Rendezvous data export", body, settings.DEFAULT_FROM_EMAIL, [address])


def my_exports(user: User):
    return DataExport.objects.filter(user=user)


def is_expired(export: DataExport, now=None) -> bool:
    return export.expires_at is not None and (now or timezone.now()) >= export.expires_at


def open_download(user: User, *, export_id, ip: str | None = None):
    """GET …/download: (file object, export) for the owner of a ready, unexpired export."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().filter(pk=export_id, user=user).first()
        if export is None:
            raise ExportNotFound()
        if export.status != DataExport.Status.READY:
            raise ExportNotReady()
        now = timezone.now()
        if is_expired(export, now) or not export.file:
            raise ExportExpired()
        # Under the row lock, so parallel downloads agree on who writes the audit line.
        quiet = export.last_downloaded_at is None or now - export.last_downloaded_at >= DOWNLOAD_AUDIT_EVERY
        export.downloads += 1
        export.last_downloaded_at = now
        export.save(update_fields=["downloads", "last_downloaded_at"])
        if quiet:
            details = {"export": str(export.pk), "downloads": export.downloads}
            record_audit("user.export_downloaded", actor=user, target=user, ip=ip, details=details)
    return default_storage.open(export.file, "rb"), export


def _remove_orphan_files(now) -> int:
    """Files under exports/ that no row names (their account was deleted, whose rows cascade),
    once older than ORPHAN_AFTER (a build saves its file just before its row names it)."""
    try:
        _, names = default_storage.listdir(FOLDER)
    except FileNotFoundError:
        return 0
    known = set(DataExport.objects.exclude(file="").values_list("file", flat=True))
    removed = 0
    for name in names:
        path = f"{FOLDER}/{name}"
        if path not in known and now - default_storage.get_modified_time(path) > ORPHAN_AFTER:
            default_storage.delete(path)
            removed += 1
    return removed


def sweep_exports() -> dict:
    """Beat: build pending exports whose queue message was lost; delete the files of expired
    ones (a reader already refuses them by timestamp), files no row names, old rows; idempotent."""
    now = timezone.now()
    built = 0
    stale = DataExport.objects.filter(
        status=DataExport.Status.PENDING, requested_at__lt=now - timedelta(seconds=STALE_PENDING_SECONDS)
    ).values_list("pk", flat=True)
    for export_id in list(stale[:100]):
        built += build_export(export_id)
    removed = 0
    for export in DataExport.objects.filter(expires_at__lte=now).exclude(file="")[:1000]:
        default_storage.delete(export.file)
        removed += DataExport.objects.filter(pk=export.pk, file=export.file).update(file="")
    deleted, _ = DataExport.objects.filter(requested_at__lt=now - KEEP_ROWS, file="").delete()
    removed += _remove_orphan_files(now)
    if built or removed or deleted:
        logger.info("exports swept: built=%s files_removed=%s rows_deleted=%s", built, removed, deleted)
    return {"built": built, "files_removed": removed, "rows_deleted": deleted}
