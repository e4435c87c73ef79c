"""The users admin. It lives at the top layer because its actions come from every app above
accounts: moderation (ban, vindicate, unban), chat (event access) and usc_cards (finalize)."""

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseUserCreationForm
from django.core.exceptions import PermissionDenied

from accounts.models import User
from accounts.permissions import may_act_on
from accounts.services import admin_edits
from accounts.validation import clean_name
from chat.admin_users import grant_event_access, revoke_event_access
from config.admin import DirectWriteMixin, LabelledDateTimesMixin
from config.client_ip import request_ip
from config.errors import InvalidInput, ServiceError
from moderation import services
from usc_cards.admin_users import USCCardFilter, finalize_usc_registrations


def run_action(modeladmin, request, fn, user_ids, done: str) -> None:
    """Call a service per user (one transaction each); refusals become admin messages."""
    succeeded = 0
    for user_id in user_ids:
        try:
            fn(user_id, moderator=request.user, ip=request_ip(request))
            succeeded += 1
        except ServiceError as exc:
            modeladmin.message_user(request, f"{user_id}: {exc.message}", messages.ERROR)
    if succeeded:
        modeladmin.message_user(request, f"{done}: {succeeded} user(s).", messages.SUCCESS)


def _clean_name_field(value, *, staff: bool) -> str:
    """The admin forms' name, by the one rule of sign-up and settings (accounts.validation)."""
    try:
        return clean_name(value, staff=staff)
    except InvalidInput as exc:
        raise forms.ValidationError(exc.fields["name"][0]) from exc


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

    def clean_name(self):
        return _clean_name_field(self.cleaned_data.get("name"), staff=False)


class UserChangeForm(BaseUserChangeForm):
    """The stock change form without its `username` field class."""

    class Meta(BaseUserChangeForm.Meta):
        model = User
        fields = ("email", "name")
        field_classes = {}

    def clean_email(self):
        email = self.cleaned_data.get("email")
        return email.strip().lower() if email else None

    def clean_name(self):
        staff = self.cleaned_data.get("is_staff", self.instance.is_staff)
        return _clean_name_field(self.cleaned_data.get("name"), staff=staff)


# The request of the password view now running, for the form's save (which Django calls bare).
_password_request: ContextVar = ContextVar("password_request", default=None)


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's set-password form, saving through admin_edits.set_password (superusers only;
    audited; the user's sessions end)."""

    def save(self, commit=True):
        request = _password_request.get()
        if request is None:
            raise PermissionDenied
        hashed = super().save(commit=False).password
        return admin_edits.set_password(self.user.pk, password_hash=hashed, actor=request.user, ip=request_ip(request))


@admin.register(User)
class UserAdmin(LabelledDateTimesMixin, DirectWriteMixin, BaseUserAdmin):
    """Changes go through accounts.services.admin_edits (audited; credential changes and lost
    access revoke the user's sessions). Moderators edit only MODERATOR_EDITABLE fields of
    ordinary users: never their own account, a password, an email or access."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AuditedPasswordChangeForm
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

    # Moderators (staff, not superusers) never edit a superuser or another staff account, nor
    # their own; on ordinary users only MODERATOR_EDITABLE fields are open (the rest read-only,
    # permissions included).

    def has_change_permission(self, request, obj=None):
        staff_only = obj is not None and not request.user.is_superuser
        if staff_only and (obj.pk == request.user.pk or not may_act_on(request.user, obj)):
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser or obj is None:
            return fieldsets
        # Not even the hash, nor the link to the set-password page.
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            every = [name for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]
            fields = (*fields, *(n for n in every if n not in fields and n not in admin_edits.MODERATOR_EDITABLE))
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if not changes:
            return None
        try:
            admin_edits.change_user(obj.pk, changes, actor=request.user, ip=request_ip(request))
        except ServiceError as exc:
            raise PermissionDenied(exc.message) from exc
        return None

    def save_related(self, request, form, formsets, change):
        if not change:
            return super().save_related(request, form, formsets, change)
        for formset in formsets:  # groups and permissions were set by admin_edits.change_user
            self.save_formset(request, form, formset, change=change)
        return None

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied  # moderators never set a password (no silent takeover)
        reset = _password_request.set(request)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_request.reset(reset)

    def _moderate(self, request, queryset, service_name: str, done: str):
        ids = queryset.values_list("pk", flat=True)
        run_action(self, request, getattr(services, service_name), ids, done)

    @admin.action(description="Ban permanently (and IP-ban their session addresses)", permissions=["change"])
    def ban_permanently(self, request, queryset):
        self._moderate(request, queryset, "ban_permanently", "Banned")

    @admin.action(description="Vindicate (lift the ban, mark reports reviewed)", permissions=["change"])
    def vindicate(self, request, queryset):
        self._moderate(request, queryset, "vindicate", "Vindicated")

    @admin.action(description="Unban (remove the ban record)", permissions=["change"])
    def unban(self, request, queryset):
        self._moderate(request, queryset, "unban", "Unbanned")
