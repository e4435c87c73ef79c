"""Admin for invites, rooms, messages, cooldowns and the records a finished call leaves."""

from django.contrib import admin
from django.db import models

from accounts.admin import json_block
from chat.models import (
    ActiveRoom,
    ActiveRoomMember,
    ArchivedChatHistory,
    ArchivedTextChatMessage,
    CallInvite,
    ChatHistory,
    Cooldown,
    SessionCompletion,
    TextChatMessage,
)
from config.admin import NoWritesAdmin, ViewOnlyAdmin


@admin.register(Cooldown)
class CooldownAdmin(ViewOnlyAdmin):
    list_display = ("user_low", "user_high", "reason", "created_at", "expires_at")
    list_filter = ("reason",)
    list_select_related = ("user_low", "user_high")
    search_fields = ("=user_low__email", "=user_high__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user_low", "user_high")


@admin.register(CallInvite)
class CallInviteAdmin(ViewOnlyAdmin):
    list_display = ("id", "from_user", "to_user", "chat_mode", "status", "created_at", "expires_at")
    list_filter = ("status", "chat_mode")
    list_select_related = ("from_user", "to_user")
    search_fields = ("=id", "=from_user__email", "=to_user__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("from_user", "to_user", "room")


@admin.register(ActiveRoom)
class ActiveRoomAdmin(ViewOnlyAdmin):
    list_display = ("id", "user_1", "user_2", "chat_mode", "status", "started_at", "ends_at", "end_reason")
    list_filter = ("status", "chat_mode", "end_reason")
    list_select_related = ("user_1", "user_2")
    search_fields = ("=id", "=user_1__email", "=user_2__email")
    ordering = ("-started_at",)
    show_full_result_count = False
    raw_id_fields = ("user_1", "user_2", "upgrade_requested_by")


@admin.register(ActiveRoomMember)
class ActiveRoomMemberAdmin(NoWritesAdmin):
    """Maintained by the active_rooms trigger (chat migration 0002): nobody writes here."""

    list_display = ("user", "room")
    list_select_related = ("user", "room")
    search_fields = ("=user__email", "=room__id")
    ordering = ("room",)
    raw_id_fields = ("user", "room")


@admin.register(TextChatMessage)
class TextChatMessageAdmin(ViewOnlyAdmin):
    list_display = ("id", "room", "sender", "type", "content", "sent_at", "read_at", "deleted")
    list_filter = ("type", "deleted")
    list_select_related = ("room", "sender")
    search_fields = ("=room__id", "=sender__email")
    ordering = ("-sent_at",)
    show_full_result_count = False
    raw_id_fields = ("room", "sender", "receiver")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(SessionCompletion)
class SessionCompletionAdmin(ViewOnlyAdmin):
    list_display = ("user", "partner", "room", "duration_seconds", "completed_at")
    list_select_related = ("user", "partner", "room")
    search_fields = ("=user__email", "=room__id")
    ordering = ("-completed_at",)
    show_full_result_count = False
    raw_id_fields = ("user", "partner", "room")


@admin.register(ChatHistory)
class ChatHistoryAdmin(ViewOnlyAdmin):
    list_display = ("user", "partner_name", "chat_mode", "started_at", "duration_seconds")
    list_filter = ("chat_mode",)
    list_select_related = ("user",)
    search_fields = ("=user__email", "partner_name", "=room__id")
    ordering = ("-started_at",)
    show_full_result_count = False
    raw_id_fields = ("user", "partner", "room")
    fields = (
        "user",
        "partner",
        "partner_name",
        "room",
        "chat_mode",
        "started_at",
        "duration_seconds",
        "created_at",
        "messages_pretty",
    )
    readonly_fields = ("messages_pretty",)

    @admin.display(description="messages")
    def messages_pretty(self, obj):
        return json_block(obj.messages)


class ArchiveAdmin(ViewOnlyAdmin):
    """Read-only archive rows, with one action: put the selected rows back (moderation.retention)."""

    actions = ["restore_selected"]

    @admin.action(description="Restore selected rows to the live table")
    def restore_selected(self, request, queryset):
        from moderation.retention import restore_selected

        restored = restore_selected(self.model, queryset.values_list("pk", flat=True), actor=request.user)
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
