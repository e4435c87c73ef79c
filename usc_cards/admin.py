"""Admin for USC card registrations and scan attempts: view-only, written by usc_cards services."""

from django.contrib import admin

from accounts.admin import json_block
from usc_cards.models import USCCardRegistration, USCScanAttempt


@admin.register(USCCardRegistration)
class USCCardRegistrationAdmin(admin.ModelAdmin):
    list_display = (
        "last4",
        "user",
        "barcode_format",
        "total_card_logins",
        "first_scanned_at",
        "last_login_via_card_at",
    )
    list_filter = ("barcode_format",)
    list_select_related = ("user",)
    search_fields = ("=last4", "=user__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(USCScanAttempt)
class USCScanAttemptAdmin(admin.ModelAdmin):
    list_display = (
        "scanned_at",
        "last4",
        "barcode_format",
        "passed_validation",
        "resulted_in_signup",
        "resulted_in_login",
        "ip",
    )
    list_filter = ("passed_validation", "resulted_in_signup", "resulted_in_login", "barcode_format")
    search_fields = ("=last4", "ip")
    date_hierarchy = "scanned_at"  # indexed (usc_scans_scanned_at)
    ordering = ("-scanned_at",)
    show_full_result_count = False
    fields = (
        "scanned_at",
        "usc_id_hash",
        "last4",
        "barcode_format",
        "passed_validation",
        "errors_pretty",
        "resulted_in_signup",
        "resulted_in_login",
        "ip",
        "user_agent",
    )
    readonly_fields = ("errors_pretty",)

    @admin.display(description="validation errors")
    def errors_pretty(self, obj):
        return json_block(obj.validation_errors)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
