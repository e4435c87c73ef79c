"""Who may call an endpoint, and which staff member may act on which account."""

from rest_framework.permissions import BasePermission

from accounts.errors import ProtectedAccount
from accounts.selectors import ensure_has_access, ensure_not_banned


class IsSignedIn(BasePermission):
    """Any valid session, banned or not (for the few endpoints a banned user still needs)."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)


class IsActiveMember(IsSignedIn):
    """A valid session of a user who is not banned (403 with the ban's status otherwise)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        ensure_not_banned(request.user)
        return True


class HasAccess(IsActiveMember):
    """Not banned and with access (invite code, USC card, open sign-up, paid)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        ensure_has_access(request.user)
        return True


def may_act_on(moderator, target) -> bool:
    """Only superusers act on staff accounts (a moderator cannot ban, edit or take over another
    moderator or an admin); anyone with the permission acts on ordinary users."""
    return getattr(moderator, "is_superuser", False) or not (target.is_superuser or target.is_staff)


def ensure_may_act(moderator, target) -> None:
    if not may_act_on(moderator, target):
        raise ProtectedAccount()
