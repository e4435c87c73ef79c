"""Who may call an endpoint."""

from rest_framework.permissions import BasePermission

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
