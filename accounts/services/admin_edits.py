"""Edits of a user made in the admin (every moderator action through a service, audited).

Moderators (staff, not superusers) change only MODERATOR_EDITABLE fields of ordinary users, never
their own account, never a password, an email or anything that grants or removes access.
Superusers change anything; when they change a credential or take access away, every session of
the user is revoked (their sockets close) in the same transaction as the change and its audit row."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import ensure_may_act
from accounts.services.sessions import revoke_all_sessions
from accounts.validation import clean_name
from audit.services import record_audit
from config.errors import Forbidden

# What a moderator may edit by hand: how the person presents, nothing that logs in or unlocks.
MODERATOR_EDITABLE = frozenset({"name", "gender", "socials", "instagram_posts"})
# Whoever knows or proves these can log in as the user: a change ends every session.
CREDENTIAL_FIELDS = frozenset(
    {"email", "email_verified", "password", "usc_id_hash", "usc_verified_at", "account_type", "account_expires_at"}
)
PRIVILEGE_FIELDS = frozenset({"is_staff", "is_superuser", "groups", "user_permissions"})
M2M_FIELDS = ("groups", "user_permissions")


class OwnAccount(Forbidden):
    code = "own_account"
    message = "Moderators do not edit their own account; ask an administrator."


class AdminOnlyField(Forbidden):
    code = "admin_only_field"
    message = "Only an administrator may change these fields."


def _ensure_may_edit(actor, user: User, fields) -> None:
    if actor.is_superuser:
        return
    if user.pk == actor.pk:
        raise OwnAccount()
    ensure_may_act(actor, user)
    refused = sorted(set(fields) - MODERATOR_EDITABLE)
    if refused:
        raise AdminOnlyField(fields={name: AdminOnlyField.message for name in refused})


def _loses_access(user: User, changes: dict) -> bool:
    if changes.get("is_active") is False and user.is_active:
        return True
    return "access_status" in changes and changes["access_status"] == User.AccessStatus.UNPAID != user.access_status


@transaction.atomic(durable=True)
def change_user(user_id, changes: dict, *, actor, ip: str | None = None) -> User:
    """Apply an admin form's changed fields (name → new value; groups/user_permissions take
    querysets). Refusals: OwnAccount, ProtectedAccount, AdminOnlyField (403)."""
    user = User.objects.select_for_update().get(pk=user_id)
    # Only real changes count (a form re-posting an equal value is none).
    changes = {name: value for name, value in changes.items() if name in M2M_FIELDS or getattr(user, name) != value}
    _ensure_may_edit(actor, user, changes)
    if "name" in changes:  # the one name rule of sign-up and settings; staff may go by a staff word
        changes["name"] = clean_name(changes["name"], staff=changes.get("is_staff", user.is_staff))
    m2m = {name: changes.pop(name) for name in M2M_FIELDS if name in changes}
    revoke = _loses_access(user, changes) or bool(CREDENTIAL_FIELDS & set(changes))
    for name, value in changes.items():
        setattr(user, name, value)
    user.updated_at = timezone.now()
    user.save()
    for name, value in m2m.items():
        getattr(user, name).set(value)
    revoked = revoke_all_sessions(user, reason="changed_by_staff") if revoke else 0
    record_audit(
        "admin.user_changed",
        actor=actor,
        target=user,
        ip=ip,
        details={
            "fields": sorted([*changes, *m2m]),
            "credentials": sorted(CREDENTIAL_FIELDS & set(changes)),
            "privileges": sorted(PRIVILEGE_FIELDS & {*changes, *m2m}),
            "sessions_revoked": revoked,
        },
    )
    return user


@transaction.atomic(durable=True)
def set_password(user_id, *, password_hash: str, actor, ip: str | None = None) -> User:
    """A superuser sets (or disables) a user's password in the admin: the old sessions end."""
    if not actor.is_superuser:
        raise AdminOnlyField(fields={"password": AdminOnlyField.message})
    user = User.objects.select_for_update().get(pk=user_id)
    user.password = password_hash
    user.updated_at = timezone.now()
    user.save(update_fields=["password", "updated_at"])
    revoked = revoke_all_sessions(user, reason="changed_by_staff")
    record_audit("admin.password_set", actor=actor, target=user, ip=ip, details={"sessions_revoked": revoked})
    return user
