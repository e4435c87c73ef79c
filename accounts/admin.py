"""Admin for auth sessions, email codes and locations; lists stay cheap at 100k users. The users
admin (with its moderation, event and card actions) sits on top, in moderation/admin_users.py."""

import json

from django.contrib import admin
from django.utils.html import format_html

from accounts.admin_login import ThrottledAdminLoginForm
from accounts.models import AuthSession, EmailVerification, UserLocation
from config.admin import ViewOnlyAdmin


def json_block(value):
    """Render a JSON value as an escaped, pretty-printed <pre> block (read-only snapshots)."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


# The moderators' sign-in shares the API login's budgets (per address and per account).
admin.site.login_form = ThrottledAdminLoginForm


@admin.register(AuthSession)
class AuthSessionAdmin(ViewOnlyAdmin):
    """View-only: logins are made and ended by accounts services; the token digest never shows."""

    list_display = ("user", "ip", "is_active", "created_at", "expires_at", "last_active_at")
    list_filter = ("is_active",)
    list_select_related = ("user",)
    search_fields = ("=user__email", "ip")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)
    fields = ("user", "ip", "user_agent", "is_active", "created_at", "expires_at", "last_active_at")
    exclude = ("token_digest",)


@admin.register(EmailVerification)
class EmailVerificationAdmin(ViewOnlyAdmin):
    """View-only: codes are issued and consumed by accounts services; the digest never shows."""

    list_display = ("email", "user", "purpose", "attempts", "created_at", "expires_at", "consumed_at")
    list_filter = ("purpose",)
    list_select_related = ("user",)
    search_fields = ("email",)
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)
    fields = ("user", "email", "purpose", "attempts", "created_at", "expires_at", "consumed_at")
    exclude = ("code_digest",)


@admin.register(UserLocation)
class UserLocationAdmin(admin.ModelAdmin):
    list_display = ("user", "latitude", "longitude", "accuracy_m", "updated_at", "expires_at")
    list_select_related = ("user",)
    search_fields = ("=user__email",)
    ordering = ("-updated_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)
