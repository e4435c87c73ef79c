"""Moderators' decisions on what screening did: restore or remove hidden media, release a held
account. Each is one transaction with an audit line; called from the admin."""

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record_audit
from config.errors import Conflict
from config.realtime import send_to_users
from screening import cases
from screening.models import AccountHold, MediaScan


class AlreadyDecided(Conflict):
    code = "already_decided"
    message = "A moderator already decided this."


def _hidden_scans(scan_id) -> list[MediaScan]:
    scan = MediaScan.objects.select_for_update().get(pk=scan_id)
    rows = list(MediaScan.objects.select_for_update().filter(file=scan.file, status=MediaScan.Status.HIDDEN))
    if not rows:
        raise AlreadyDecided()
    return rows


@transaction.atomic(durable=True)
def restore_media(scan_id, *, moderator: User) -> MediaScan:
    """No violation: the media is shown again (if the person has not uploaded another since)."""
    rows = _hidden_scans(scan_id)
    scan = rows[0]
    now = timezone.now()
    MediaScan.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=MediaScan.Status.RESTORED, decided_at=now, decided_by=moderator
    )
    if scan.user_id:
        User.objects.filter(pk=scan.user_id, **{scan.kind: ""}).update(**{scan.kind: scan.file, "updated_at": now})
        send_to_users([scan.user_id], {"type": "media.review", "media": scan.kind, "status": "restored"})
    record_audit("screening.media_restored", actor=moderator, details={"file": scan.file, "user": str(scan.user_id)})
    scan.refresh_from_db()
    return scan


@transaction.atomic(durable=True)
def remove_media(scan_id, *, moderator: User, violation: bool = True) -> MediaScan:
    """The media goes for good (the file is deleted after commit); with `violation`, a strike."""
    rows = _hidden_scans(scan_id)
    scan = rows[0]
    now = timezone.now()
    MediaScan.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=MediaScan.Status.REMOVED, decided_at=now, decided_by=moderator
    )
    if scan.user_id:
        send_to_users([scan.user_id], {"type": "media.review", "media": scan.kind, "status": "removed"})
        if violation:
            cases.request_strike(scan.user_id, reason="nudity", text=f"{scan.kind} removed by a moderator",
                                 moderator=moderator)  # fmt: skip
    record_audit("screening.media_removed", actor=moderator, details={"file": scan.file, "user": str(scan.user_id)})
    transaction.on_commit(lambda: _delete_file(scan.file), robust=True)
    scan.refresh_from_db()
    return scan


def _delete_file(name: str) -> None:
    default_storage.delete(name)


@transaction.atomic(durable=True)
def release_hold(hold_id, *, moderator: User) -> AccountHold:
    """Not the banned person: the account gets its reel and invites back."""
    updated = AccountHold.objects.filter(pk=hold_id, released_at__isnull=True).update(
        released_at=timezone.now(), released_by=moderator
    )
    hold = AccountHold.objects.get(pk=hold_id)
    if not updated:
        raise AlreadyDecided()
    record_audit("screening.hold_released", actor=moderator, target=hold.user, details={"hold": hold.pk})
    return hold
