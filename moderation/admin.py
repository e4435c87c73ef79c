"""Admin for reports, bans, IP bans, the audit log and site settings (SPEC §7)."""

from django.contrib import admin

from accounts.admin import json_block
from moderation.models import AuditLog, IPBan, Report, SiteSettings, UserBan


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Reports are evidence made by users: who, where and the snapshot never change here."""

    list_display = ("id", "reported", "reporter", "category", "reviewed", "created_at")
    list_filter = ("category", "reviewed")
    list_select_related = ("reported", "reporter")
    search_fields = ("=reported__email", "reported_name", "=reporter__email")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("reported", "reporter", "room")
    fields = (
        "reported",
        "reporter",
        "room",
        "category",
        "text",
        "reviewed",
        "reporter_ip",
        "created_at",
        "reported_name",
        "reported_selfie",
        "reported_video",
        "messages_pretty",
    )
    readonly_fields = (
        "reported",
        "reporter",
        "room",
        "reporter_ip",
        "created_at",
        "reported_name",
        "reported_selfie",
        "reported_video",
        "messages_pretty",
    )

    @admin.display(description="messages snapshot")
    def messages_pretty(self, obj):
        return json_block(obj.messages_snapshot)

    def has_add_permission(self, request):
        return False


@admin.register(UserBan)
class UserBanAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "review_status", "report_count", "banned_at", "reviewed_by")
    list_filter = ("status", "review_status")
    list_select_related = ("user", "reviewed_by")
    search_fields = ("=user__email", "user__name")
    date_hierarchy = "banned_at"
    ordering = ("banned_at",)  # the review queue: oldest first
    raw_id_fields = ("user",)
    autocomplete_fields = ("reviewed_by",)


@admin.register(IPBan)
class IPBanAdmin(admin.ModelAdmin):
    list_display = ("ip", "user", "reason", "banned_at", "banned_by", "expires_at")
    list_select_related = ("user", "banned_by")
    search_fields = ("ip", "=user__email")
    ordering = ("-banned_at",)
    autocomplete_fields = ("user", "banned_by")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Append-only: nobody, superusers included, adds, edits or deletes rows here."""

    list_display = ("created_at", "event_type", "actor", "target", "ip")
    list_select_related = ("actor", "target")
    search_fields = ("^event_type", "=actor__email", "=target__email")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("actor", "target")
    fields = ("created_at", "event_type", "actor", "target", "ip", "details_pretty")
    readonly_fields = fields

    @admin.display(description="details")
    def details_pretty(self, obj):
        return json_block(obj.details)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """One row (id=1, made by migration 0002): edit it, never add a second or delete it."""

    list_display = ("__str__", "open_signup", "updated_at")
    fields = ("open_signup", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not SiteSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False
