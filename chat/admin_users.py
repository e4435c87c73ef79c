"""User-list actions of event mode (moderation.admin_users.UserAdmin lists them): give or take away
"access outside events" for the selected users, through chat.event_mode (audited)."""

from django.contrib import admin, messages

from chat.event_mode import grant_pass, revoke_pass
from config.client_ip import request_ip


@admin.action(description="Give access outside events", permissions=["change"])
def grant_event_access(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    for user_id in ids:
        grant_pass(user_id, moderator=request.user, note="user list action", ip=request_ip(request))
    modeladmin.message_user(request, f"{len(ids)} user(s) may enter outside events.", messages.SUCCESS)


@admin.action(description="Take away access outside events", permissions=["change"])
def revoke_event_access(modeladmin, request, queryset):
    revoked = sum(
        revoke_pass(pk, moderator=request.user, ip=request_ip(request)) for pk in queryset.values_list("pk", flat=True)
    )
    modeladmin.message_user(request, f"Access outside events taken away from {revoked} user(s).", messages.SUCCESS)
