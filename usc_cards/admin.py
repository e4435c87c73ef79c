"""Admin for USC card registrations and scan attempts: view-only, written by usc_cards services.
Both are searchable by last 4 digits and by user (email or name); users with a scan but no
registration are a filter ("USC card: pending") on the users admin (usc_cards.admin_users)."""

from django.contrib import admin
from django.db.models import Q

from accounts.admin import json_block
from accounts.models import User
from config.admin import ViewOnlyAdmin
from usc_cards.models import USCCardRegistration, USCScanAttempt

# Search terms matching more users than this are not expanded into their cards.
USER_SEARCH_LIMIT = 50


@admin.register(USCCardRegistration)
class USCCardRegistrationAdmin(ViewOnlyAdmin):
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
    search_fields = ("=last4", "=user__email", "user__name")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)


@admin.register(USCScanAttempt)
class USCScanAttemptAdmin(ViewOnlyAdmin):
    list_display = (
        "scanned_at",
        "last4",
        "purpose",
        "outcome",
        "barcode_format",
        "passed_validation",
        "resulted_in_signup",
        "resulted_in_login",
        "ip",
    )
    list_filter = (
        "purpose",
        "outcome",
        "passed_validation",
        "resulted_in_signup",
        "resulted_in_login",
        "barcode_format",
    )
    search_fields = ("=last4", "ip")
    search_help_text = "Last 4 digits, IP address, or a user's email or name (their card's scans)."
    date_hierarchy = "scanned_at"  # indexed (usc_scans_scanned_at)
    ordering = ("-scanned_at",)
    show_full_result_count = False
    fields = (
        "scanned_at",
        "card_holder",
        "usc_id_hash",
        "last4",
        "barcode_format",
        "purpose",
        "outcome",
        "passed_validation",
        "errors_pretty",
        "resulted_in_signup",
        "resulted_in_login",
        "ip",
        "user_agent",
    )
    readonly_fields = ("errors_pretty", "card_holder")

    @admin.display(description="validation errors")
    def errors_pretty(self, obj):
        return json_block(obj.validation_errors)

    @admin.display(description="card holder")
    def card_holder(self, obj):
        holder = User.objects.filter(usc_id_hash=obj.usc_id_hash).first() if obj.usc_id_hash else None
        return str(holder) if holder else "—"

    def get_search_results(self, request, queryset, search_term):
        """Besides last 4 and IP: a user's email or name finds the scans of their card (the
        attempts carry no user, only the card's HMAC, which the user row holds too)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if len(term) >= 3:
            hashes = list(
                User.objects.filter(
                    Q(email__iexact=term) | Q(name__icontains=term), usc_id_hash__isnull=False
                ).values_list("usc_id_hash", flat=True)[:USER_SEARCH_LIMIT]
            )
            if hashes:
                results |= queryset.filter(usc_id_hash__in=hashes)
        return results, may_have_duplicates
