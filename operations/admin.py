"""Admin of the archive tables (chat's models, operations' retention): read-only rows and one
action, putting the selected rows back. Here, at the top layer, because the action is
operations.retention's."""

from django.contrib import admin

from chat.models import ArchivedChatHistory, ArchivedTextChatMessage
from config.admin import ViewOnlyAdmin
from operations import retention


class ArchiveAdmin(ViewOnlyAdmin):
    """Read-only archive rows, with one action: put the selected rows back (operations.retention)."""

    actions = ["restore_selected"]

    @admin.action(description="Restore selected rows to the live table")
    def restore_selected(self, request, queryset):
        restored = retention.restore_selected(self.model, queryset.values_list("pk", flat=True), actor=request.user)
        self.message_user(request, f"Restored {restored} row(s); they will not be archived again.")


@admin.register(ArchivedTextChatMessage)
class ArchivedTextChatMessageAdmin(ArchiveAdmin):
    """Messages moved here by retention; `manage.py restore_archive` puts them back."""

    list_display = ("id", "room", "sender", "type", "sent_at", "archived_at", "restored_at")
    list_filter = ("type", ("restored_at", admin.EmptyFieldListFilter))
    list_select_related = ("sender",)
    search_fields = ("=id", "=room__id", "=sender__email", "=receiver__email")
    ordering = ("-archived_at",)
    show_full_result_count = False
    raw_id_fields = ("room", "sender", "receiver")
    date_hierarchy = "archived_at"


@admin.register(ArchivedChatHistory)
class ArchivedChatHistoryAdmin(ArchiveAdmin):
    """Chat history moved here by retention; `manage.py restore_archive` puts it back."""

    list_display = ("id", "user", "partner_name", "chat_mode", "started_at", "archived_at", "restored_at")
    list_filter = ("chat_mode", ("restored_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("=id", "=user__email", "=room__id")
    ordering = ("-archived_at",)
    show_full_result_count = False
    raw_id_fields = ("user", "partner", "room")
    date_hierarchy = "archived_at"
