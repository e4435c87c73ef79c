"""Admin for users, auth sessions, email codes and locations; lists stay cheap at 100k users."""

import json

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseUserCreationForm
from django.utils.html import format_html

from accounts.models import AuthSession, EmailVerification, User, UserLocation
from chat.admin_users import grant_event_access, revoke_event_access
from config.admin import ViewOnlyAdmin
from usc_cards.admin_users import USCCardFilter, finalize_usc_registrations


def json_block(value):
    """Render a JSON value as an escaped, pretty-printed <pre> block (read-only snapshots)."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


class UserCreationForm(BaseUserCreationForm):
    """Staff-created accounts are permanent (email required, stored lower-case like the API)."""

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("email", "name")
        field_classes = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        # A permanent account needs no guest expiry (CHECK accounts_users_guest_expires).
        self.instance.account_type = User.AccountType.PERMANENT

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class UserChangeForm(BaseUserChangeForm):
    """The stock change form without its `username` field class."""

    class Meta(BaseUserChangeForm.Meta):
        model = User
        fields = ("email", "name")
        field_classes = {}

    def clean_email(self):
        email = self.cleaned_data.get("email")
        return email.strip().lower() if email else None


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "name", "account_type", "access_status", "ban_status", "is_staff", "created_at")
    list_filter = (
        "account_type",
        "access_status",
        "ban_status",
        "gender",
        "email_verified",
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        USCCardFilter,
    )
    search_fields = ("email", "name", "=id")
    ordering = ("-created_at",)
    show_full_result_count = False
    readonly_fields = (
        "id",
        "ban_status",  # changes only through moderation services (ban records + audit)
        "timer_total_seconds",
        "session_count",
        "successful_sessions",
        "streak_days",
        "usc_id_hash",
        "last_login",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("id", "email", "password", "name", "gender", "account_type", "account_expires_at")}),
        ("Verification", {"fields": ("email_verified", "usc_id_hash", "usc_verified_at")}),
        (
            "Access",
            {"fields": ("access_status", "access_granted_at", "invite_code_used", "qr_unlocked", "qr_unlocked_at")},
        ),
        ("Moderation", {"fields": ("ban_status",)}),
        ("Profile", {"fields": ("selfie", "video", "socials", "instagram_posts", "location_consent")}),
        ("Counters", {"fields": ("timer_total_seconds", "session_count", "successful_sessions", "streak_days")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    actions = (
        "ban_permanently",
        "vindicate",
        "unban",
        finalize_usc_registrations,
        grant_event_access,
        revoke_event_access,
    )

    # Moderators (staff, not superusers) never edit a superuser or another staff account
    # (no taking over a colleague by resetting their password), nor anyone's permissions.
    PERMISSION_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def has_change_permission(self, request, obj=None):
        from moderation.services import may_act_on

        if obj is not None and obj.pk != request.user.pk and not may_act_on(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            fields = (*fields, *self.PERMISSION_FIELDS)
        return fields

    def _moderate(self, request, queryset, service_name: str, done: str):
        from moderation import admin as moderation_admin
        from moderation import services

        ids = queryset.values_list("pk", flat=True)
        moderation_admin.run_action(self, request, getattr(services, service_name), ids, done)

    @admin.action(description="Ban permanently (and IP-ban their session addresses)", permissions=["change"])
    def ban_permanently(self, request, queryset):
        self._moderate(request, queryset, "ban_permanently", "Banned")

    @admin.action(description="Vindicate (lift the ban, mark reports reviewed)", permissions=["change"])
    def vindicate(self, request, queryset):
        self._moderate(request, queryset, "vindicate", "Vindicated")

    @admin.action(description="Unban (remove the ban record)", permissions=["change"])
    def unban(self, request, queryset):
        self._moderate(request, queryset, "unban", "Unbanned")


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
