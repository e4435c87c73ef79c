"""The still a reporter's client captures of the partner's video when reporting from a call:
uploaded right after the report, re-encoded without metadata (as selfies are) and kept under
evidence/ (staff only). Only the reporter, within STILL_WINDOW of filing, once per report."""

import uuid
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.media import process_selfie
from accounts.models import User
from audit.services import record_audit
from config.errors import Conflict, NotFound
from moderation.evidence import EVIDENCE_PREFIX
from moderation.models import Report

STILL_WINDOW = timedelta(minutes=5)


class StillAlreadyAttached(Conflict):
    code = "still_attached"
    message = "A still is already attached to this report."


def attach_still(reporter: User, *, report_id: int, upload, ip: str | None = None) -> Report:
    """Re-encode first (slow, outside the transaction), then attach under the report's lock."""
    _report_for(reporter, report_id)  # cheap early refusal; re-checked under lock
    content = process_selfie(upload)
    name = default_storage.save(f"{EVIDENCE_PREFIX}stills/{uuid.uuid4().hex}.jpg", content)
    try:
        return _attach(reporter, report_id, name, ip)
    except BaseException:
        default_storage.delete(name)
        raise


def _report_for(reporter: User, report_id: int, *, lock: bool = False) -> Report:
    rows = Report.objects.select_for_update() if lock else Report.objects
    report = rows.filter(pk=report_id, reporter=reporter, created_at__gt=timezone.now() - STILL_WINDOW).first()
    if report is None:
        raise NotFound("No report of yours from the last few minutes with that id.")
    return report


@transaction.atomic(durable=True)
def _attach(reporter: User, report_id: int, name: str, ip) -> Report:
    report = _report_for(reporter, report_id, lock=True)
    if report.video_still:
        raise StillAlreadyAttached()
    report.video_still = name
    report.save(update_fields=["video_still"])
    record_audit("report.still_attached", actor=reporter, target=report.reported, ip=ip,
                 details={"report": report.pk})  # fmt: skip
    return report
