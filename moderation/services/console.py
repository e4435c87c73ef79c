"""The moderators' console settings: open sign-up and who is a moderator."""

import logging

from django.db import transaction

from accounts.models import User
from audit.services import record_audit
from moderation.models import SiteSettings
from moderation.roles import ensure_moderators_group

logger = logging.getLogger("rendezvous.audit")


@transaction.atomic(durable=True)
def set_open_signup(enabled: bool, *, moderator, ip: str | None = None) -> SiteSettings:
    """Toggle open sign-up with an audit row; a no-op change writes nothing."""
    SiteSettings.objects.get_or_create(id=1)
    row = SiteSettings.objects.select_for_update().get(id=1)
    if row.open_signup == bool(enabled):
        return row
    row.open_signup = bool(enabled)
    row.save(update_fields=["open_signup", "updated_at"])
    record_audit("site_settings.open_signup", actor=moderator, ip=ip, details={"open_signup": row.open_signup})
    logger.warning(
        "open sign-up %s by %s",
        "on" if row.open_signup else "off",
        getattr(moderator, "pk", None),
        extra={"event": "open_signup.changed"},
    )
    return row


@transaction.atomic(durable=True)
def make_moderator(email: str, *, remove: bool = False) -> User:
    """Staff in the `moderators` group (whose permissions are reset to the exact list), or the
    reverse. The account must exist and have a password to log in to the admin with."""
    user = User.objects.select_for_update().filter(email=(email or "").strip().lower()).first()
    if user is None:
        raise LookupError(f"no account with email {email!r}")
    group = ensure_moderators_group()
    if remove:
        user.groups.remove(group)
        user.is_staff = user.is_superuser
    else:
        user.groups.add(group)
        user.is_staff = True
    user.save(update_fields=["is_staff", "updated_at"])
    record_audit("moderator.removed" if remove else "moderator.added", target=user, details={"email": user.email})
    return user
