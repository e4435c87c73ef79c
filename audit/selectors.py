"""Who may read which audit lines.

An audit line about a private act is visible only to those allowed to see the act itself: a
block is a user's private choice (moderators do not see blocks), so its lines need the
permission to view blocks; a user's own data export needs the permission to view data exports.
Superusers have every permission. Everything else in the log is visible with view_auditlog."""

from django.db.models import QuerySet

from audit.models import AuditLog

# event_type → the permission ("app_label.codename") needed to see lines of that type.
PRIVATE_EVENTS = {
    "user.blocked": "chat.view_block",
    "user.unblocked": "chat.view_block",
    "user.export_requested": "moderation.view_dataexport",
    "user.exported": "moderation.view_dataexport",
    "user.export_downloaded": "moderation.view_dataexport",
}


def hidden_event_types(user) -> list[str]:
    """The event types whose act `user` may not see."""
    return sorted(event for event, permission in PRIVATE_EVENTS.items() if not user.has_perm(permission))


def list_audit_lines_for(user, queryset: QuerySet | None = None) -> QuerySet:
    """The audit lines `user` may read (the admin's list, search, filters and detail pages)."""
    rows = AuditLog.objects.all() if queryset is None else queryset
    hidden = hidden_event_types(user)
    return rows.exclude(event_type__in=hidden) if hidden else rows
