"""Profile edits, uploads and account deletion."""

import logging
import uuid

from django.core.files.storage import default_storage
from django.db import transaction

from accounts.media import inspect_video, process_selfie, strip_video_metadata
from accounts.models import User, UserLocation
from accounts.preferences import clean_meet_genders, clean_meet_modes
from accounts.services.sessions import revoke_all_sessions
from accounts.signals import account_deleting, discoverability_changed, media_replaced
from accounts.validation import clean_instagram_posts, clean_name, clean_socials
from audit.services import record_audit

logger = logging.getLogger("rendezvous.accounts")

EDITABLE = (
    "name",
    "gender",
    "socials",
    "instagram_posts",
    "location_consent",
    "meet_genders",
    "meet_modes",
    "discoverable_while_browsing",
)


@transaction.atomic(durable=True)
def update_profile(user: User, **changes) -> User:
    """Change any of name, gender, socials, instagram_posts, location_consent, meet_genders,
    meet_modes (the API's words, accounts.preferences), discoverable_while_browsing.
    Withdrawing location consent deletes the stored location; a change of
    discoverable_while_browsing is announced (accounts.signals) for presence to apply."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if "name" in changes:
        changes["name"] = clean_name(changes["name"])
    if "socials" in changes:
        changes["socials"] = clean_socials(changes["socials"])
    if "instagram_posts" in changes:
        changes["instagram_posts"] = clean_instagram_posts(changes["instagram_posts"])
    if "meet_genders" in changes:
        changes["meet_genders"] = clean_meet_genders(changes["meet_genders"])
    if "meet_modes" in changes:
        changes["meet_modes"] = clean_meet_modes(changes["meet_modes"])
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=[*changes, "updated_at"])
    if changes.get("location_consent") is False:
        UserLocation.objects.filter(user=user).delete()
    if "discoverable_while_browsing" in changes:
        discoverability_changed.send(sender=User, user=user, discoverable=user.discoverable_while_browsing)
    return user


def _delete_file(name: str) -> None:
    if name:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete stored file %s", name, extra={"event": "file_delete.failed"})


def _replace_file(user: User, field: str, new_name: str) -> User:
    """Point user.<field> at new_name in one transaction; the old file goes after commit, the
    new one if the transaction fails (no orphan either way)."""
    try:
        with transaction.atomic(durable=True):
            locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
            old_name = getattr(locked, field).name if getattr(locked, field) else ""
            setattr(locked, field, new_name)
            locked.save(update_fields=[field, "updated_at"])
            media_replaced.send(sender=User, user=locked, field=field, old_name=old_name, new_name=new_name)
            transaction.on_commit(lambda: _delete_file(old_name), robust=True)
    except BaseException:
        _delete_file(new_name)
        raise
    return locked


def set_selfie(user: User, upload) -> User:
    """Validate and re-encode outside the transaction (slow), store, then swap the reference."""
    content = process_selfie(upload)
    name = default_storage.save(f"selfies/{uuid.uuid4().hex}.jpg", content)
    return _replace_file(user, "selfie", name)


def set_video(user: User, upload) -> User:
    """Check, then store a copy without metadata (accounts.media.strip_video_metadata): the
    streams as sent, no location, title, comment or device tags."""
    info = inspect_video(upload)
    with strip_video_metadata(upload, info) as clean:
        name = default_storage.save(f"videos/{uuid.uuid4().hex}.{info.container}", clean)
    return _replace_file(user, "video", name)


def remove_media(user: User, field: str) -> User:
    if field not in ("selfie", "video"):
        raise ValueError(field)
    return _replace_file(user, field, "")


@transaction.atomic(durable=True)
def delete_account(user: User, *, ip: str | None, only_if_expired_guest_at=None) -> bool:
    """Delete the account and its personal data (cascade), with an audit line that keeps only
    the id. Other people's records of calls with this user keep their name snapshot.
    With `only_if_expired_guest_at` (the guest sweep), the row is re-checked under its lock:
    a guest made permanent (or given more time) since the sweep looked is kept, and the
    whole transaction, the receivers' work included, is rolled back. Returns whether it deleted."""
    # The other apps' steps first: ending a live call locks both users in id order (the global
    # lock order); locking the leaver before that could deadlock with the partner ending the call.
    account_deleting.send(sender=User, user=user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if only_if_expired_guest_at is not None and not (
        user.account_type == User.AccountType.GUEST
        and user.account_expires_at is not None
        and user.account_expires_at <= only_if_expired_guest_at
    ):
        transaction.set_rollback(True)
        return False
    files = [f.name for f in (user.selfie, user.video) if f]
    revoke_all_sessions(user, reason="account_deleted")
    record_audit("account.deleted", ip=ip, details={"user_id": str(user.pk), "account_type": user.account_type})
    user.delete()
    for name in files:
        transaction.on_commit(lambda name=name: _delete_file(name), robust=True)
    return True
