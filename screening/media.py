"""Screening of selfies and intro videos: a perceptual hash and a nudity score for each image
(a selfie, or KEYFRAMES frames of a video), taken by the screening worker after the upload
commits. Above settings.SCREENING_NUDITY_THRESHOLD the media is hidden from others at once
(the profile's reference is emptied, the file kept), the person is told it is under review
and a case opens; a moderator restores it or removes it. A selfie within
settings.SCREENING_BAN_EVASION_DISTANCE bits of a banned person's hash holds the account
(screening.holds) and opens a case with both images."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from accounts.models import User
from accounts.selectors import BANNED_STATUSES
from audit.services import record_audit
from config.realtime import send_to_users
from screening import cases, hashing
from screening.classifier import classifier
from screening.models import AccountHold, MediaScan

logger = logging.getLogger("rendezvous.screening")

FIELDS = ("selfie", "video")


@dataclass(frozen=True)
class FrameResult:
    frame: int
    phash: int
    score: float


# --- what happens to hashes when media changes ------------------------------------------


def media_replaced(user: User, *, field: str, old_name: str, new_name: str) -> None:
    """In accounts' transaction: the old media's scans go, unless the person is banned (their
    hashes stay, so a new account with the same picture is held)."""
    if old_name:
        _keep_if_banned_else_delete(user, MediaScan.objects.filter(user=user, file=old_name))


def forget_hashes_unless_banned(user: User) -> None:
    """Before an account is deleted: a banned person's hashes stay (the user link is emptied by
    the deletion), anyone else's go."""
    _keep_if_banned_else_delete(user, MediaScan.objects.filter(user=user))


def _keep_if_banned_else_delete(user: User, rows) -> None:
    if user.ban_status in BANNED_STATUSES:
        rows.update(kept_for_ban=True)
    else:
        rows.delete()


# --- scanning (the worker) --------------------------------------------------------------------


def _images(field: str, name: str) -> list[Image.Image]:
    with default_storage.open(name, "rb") as source:
        if field == "selfie":
            image = Image.open(source)
            image.load()
            return [image]
        return hashing.video_keyframes(source)


def image_nudity_score(name: str) -> float | None:
    """The classifier's nudity score of the stored image `name` (slow: call it outside any
    transaction); None when the file is gone. Photos sent in text calls are scored here."""
    try:
        with default_storage.open(name, "rb") as source:
            image = Image.open(source)
            image.load()
    except FileNotFoundError:
        logger.info("screening: image %s is gone; nothing to score", name)
        return None
    return classifier().score(hashing.jpeg_bytes(image))


def is_nudity(score: float) -> bool:
    """At or above settings.SCREENING_NUDITY_THRESHOLD: hidden from others pending review."""
    return score >= settings.SCREENING_NUDITY_THRESHOLD


def scan_media(user_id, field: str, name: str) -> list[MediaScan]:
    """Hash and score the media (slow: outside any transaction), then apply the result."""
    if field not in FIELDS:
        raise ValueError(field)
    try:
        images = _images(field, name)
    except FileNotFoundError:
        logger.info("screening: %s %s is gone; nothing to scan", field, name)
        return []
    results = [
        FrameResult(i, hashing.phash(image), classifier().score(hashing.jpeg_bytes(image)))
        for i, image in enumerate(images)
    ]
    return apply_scan(user_id, field, name, results)


def _nearest_banned(user_id, value: int):
    """The closest banned person's scan within the distance setting, or None. Banned: a kept
    row (the account may be gone) or a row of a user banned now."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id, bit_count((s.phash # %s)::bit(64)) AS d
            FROM screening_media_scans s LEFT JOIN users u ON u.id = s.user_id
            WHERE s.phash IS NOT NULL AND (s.user_id IS NULL OR s.user_id <> %s)
              AND (s.kept_for_ban OR u.ban_status = ANY(%s))
            ORDER BY d LIMIT 1
            """,
            [value, user_id, list(BANNED_STATUSES)],
        )
        row = cursor.fetchone()
    if row is None or row[1] > settings.SCREENING_BAN_EVASION_DISTANCE:
        return None
    return MediaScan.objects.get(pk=row[0]), row[1]


@transaction.atomic(durable=True)
def apply_scan(user_id, field: str, name: str, results: list[FrameResult]) -> list[MediaScan]:
    """Store the scans, then hide the media above the threshold and hold a look-alike of a
    banned person, each with a case. Idempotent: a redelivered task finds its rows and stops;
    media replaced since the upload is not acted on."""
    user = User.objects.select_for_update(no_key=True).filter(pk=user_id).first()
    if user is None or getattr(user, field).name != name:
        return []
    if MediaScan.objects.filter(file=name).exists():
        return list(MediaScan.objects.filter(file=name).order_by("frame"))
    scans = [
        MediaScan.objects.create(
            user=user,
            kind=field,
            file=name,
            frame=r.frame,
            phash=r.phash,
            nudity_score=r.score,
            status=MediaScan.Status.HIDDEN if is_nudity(r.score) else MediaScan.Status.PASSED,
        )
        for r in results
    ]
    hidden = [s for s in scans if s.status == MediaScan.Status.HIDDEN]
    if hidden:
        _hide(user, field, name, hidden)
    if field == "selfie" and scans:
        _hold_if_like_banned(user, scans[0])
    return scans


def _hide(user: User, field: str, name: str, hidden: list[MediaScan]) -> None:
    User.objects.filter(pk=user.pk, **{field: name}).update(**{field: "", "updated_at": timezone.now()})
    top = max(s.nudity_score for s in hidden)
    record_audit("screening.media_hidden", target=user, details={"file": name, "score": round(top, 3)})
    cases.request_case(
        user.pk,
        kind="nudity",
        category="nudity",
        evidence={"images": [name], "media": field, "score": round(top, 3), "scans": [s.pk for s in hidden]},
    )
    send_to_users([user.pk], {"type": "media.review", "media": field, "status": "hidden"})


def _hold_if_like_banned(user: User, scan: MediaScan) -> None:
    match = _nearest_banned(user.pk, scan.phash)
    if match is None:
        return
    matched, dist = match
    hold, created = AccountHold.objects.get_or_create(
        user=user, released_at=None, defaults={"scan": scan, "matched_scan": matched, "distance": dist}
    )
    if not created:
        return
    record_audit("screening.account_held", target=user, details={"distance": dist, "matched_scan": matched.pk})
    cases.request_case(
        user.pk,
        kind="ban_evasion",
        category="other",
        evidence={
            "images": [scan.file, matched.file],  # side by side: the new selfie, the banned person's
            "distance": dist,
            "matched_user_id": str(matched.user_id) if matched.user_id else None,
            "hold": hold.pk,
        },
    )
