"""Admin for invite codes, their uses, introduction links and referral notifications."""

from django.contrib import admin

from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "type", "created_by", "max_uses", "uses_remaining", "is_active", "created_at")
    list_filter = ("type", "is_active")
    list_select_related = ("created_by",)
    search_fields = ("=code", "created_by_name", "=created_by__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    autocomplete_fields = ("created_by",)
    # Uses are spent only by the atomic redemption in referrals.services.
    readonly_fields = ("uses_remaining",)


@admin.register(InviteCodeUse)
class InviteCodeUseAdmin(admin.ModelAdmin):
    list_display = ("code", "user", "used_at")
    list_select_related = ("code", "user")
    search_fields = ("=code__code", "=user__email")
    ordering = ("-used_at",)
    show_full_result_count = False
    raw_id_fields = ("code",)
    autocomplete_fields = ("user",)


@admin.register(ReferralMapping)
class ReferralMappingAdmin(admin.ModelAdmin):
    list_display = ("referral_code", "target_user", "created_by_user", "created_at")
    list_select_related = ("target_user", "created_by_user")
    search_fields = ("=referral_code", "target_name", "created_by_name", "=target_user__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    autocomplete_fields = ("target_user", "created_by_user")


@admin.register(ReferralNotification)
class ReferralNotificationAdmin(admin.ModelAdmin):
    list_display = ("for_user", "referred_name", "introduced_by_name", "read", "created_at")
    list_filter = ("read",)
    list_select_related = ("for_user",)
    search_fields = ("=for_user__email", "referred_name")
    ordering = ("-created_at",)
    show_full_result_count = False
    autocomplete_fields = ("for_user", "referred_user", "introduced_by")
