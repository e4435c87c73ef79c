"""Report evidence: copies of the reported user's selfie and video that outlive their profile.

A report stores the name of a copy under `evidence/` (one copy per original file: uploads get
fresh uuid names, so the copy of `selfies/<uuid>.jpg` is always the same picture). The copy is
made before the report's transaction (slow I/O stays outside it); the original may be
replaced or deleted later without touching the evidence. Only staff can open evidence
(ReportAdmin's evidence view); it is never served under the public /media/ URL."""

import logging

from django.core.files.storage import default_storage

logger = logging.getLogger("rendezvous.moderation")

EVIDENCE_PREFIX = "evidence/"
SAFE_TYPES = {".jpg": "image/jpeg", ".mp4": "video/mp4", ".webm": "video/webm"}


def preserve(name: str) -> str:
    """The name of an evidence copy of stored file `name` ("" when there is none). If the copy
    fails the original name is kept, so the report still points at what was seen."""
    if not name:
        return ""
    target = EVIDENCE_PREFIX + name
    try:
        if default_storage.exists(target):
            return target
        with default_storage.open(name, "rb") as source:
            return default_storage.save(target, source)
    except OSError:
        logger.warning("could not copy %s as report evidence", name, extra={"event": "evidence.failed"})
        return name


def content_type(name: str) -> str | None:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return SAFE_TYPES.get(suffix)
