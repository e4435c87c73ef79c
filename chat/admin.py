"""Admin for invites, rooms, messages, cooldowns and the records a finished call leaves,
and for event mode (settings, access outside events, RSVPs with their chart)."""

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.safestring import mark_safe

from accounts.admin import json_block
from chat.event_mode import grant_pass, revoke_pass, update_settings, validate_time_zone
from chat.event_rsvps import rsvp_chart
from chat.live_stats import bar_chart_svg
from chat.models import (
    ActiveRoom,
    ActiveRoomMember,
    Block,
    CallInvite,
    CallPhoto,
    ChatHistory,
    Cooldown,
    EventAccessPass,
    EventRSVP,
    EventSettings,
    Match,
    MeetAgainAnswer,
    SessionCompletion,
    TextChatMessage,
)
from config.admin import NoWritesAdmin, ViewOnlyAdmin
from config.client_ip import request_ip
from config.errors import ServiceError


@admin.register(Cooldown)
class CooldownAdmin(ViewOnlyAdmin):
    list_display = ("user_low", "user_high", "reason", "created_at", "expires_at")
    list_filter = ("reason",)
    list_select_related = ("user_low", "user_high")
    search_fields = ("=user_low__email", "=user_high__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user_low", "user_high")


@admin.register(Block)
class BlockAdmin(NoWritesAdmin):
    """Blocks are made and lifted by the blocker only (chat.services.blocks, audited there); who
    blocked whom is private, so they are not in the moderators' permissions (moderation/roles.py):
    superusers may look, nobody edits or deletes here."""

    list_display = ("blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    search_fields = ("=blocker__email", "=blocked__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("blocker", "blocked")


@admin.register(Match)
class MatchAdmin(ViewOnlyAdmin):
    """Matches are made and removed by the two people only (chat.services.matches); not in the
    moderators' permissions (moderation/roles.py), so only superusers see them."""

    list_display = ("id", "user_low", "user_high", "created_at")
    list_select_related = ("user_low", "user_high")
    search_fields = ("=user_low__email", "=user_high__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user_low", "user_high", "room")


@admin.register(MeetAgainAnswer)
class MeetAgainAnswerAdmin(NoWritesAdmin):
    """Each answer is its author's alone (never shown to the other side); superusers only."""

    list_display = ("room", "user", "answered_at")
    ordering = ("-answered_at",)
    show_full_result_count = False
    raw_id_fields = ("room", "user")
    exclude = ("answer",)


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


@admin.register(CallPhoto)
class CallPhotoAdmin(NoWritesAdmin):
    """Photos sent in text calls and what screening said; the image itself opens from its
    message's address (GET /api/photos/<id>) or, when hidden, from the case's evidence."""

    list_display = ("id", "room", "sender", "receiver", "status", "nudity_score", "created_at", "screened_at")
    list_filter = ("status",)
    list_select_related = ("room", "sender", "receiver")
    search_fields = ("=room__id", "=sender__email", "=receiver__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("message", "room", "sender", "receiver")


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


# --- event mode ----------------------------------------------------------------------------


class EventSettingsForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=[(i, name) for i, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked = every day.",
    )

    class Meta:
        model = EventSettings
        fields = ("enabled", "title", "banner", "time_zone", "window_start", "window_end", "weekdays")
        help_texts = {
            "time_zone": "An IANA zone, e.g. America/Los_Angeles (checked with zoneinfo).",
            "window_end": "Local time; the window may not cross midnight.",
        }

    def clean_time_zone(self):
        try:
            return validate_time_zone(self.cleaned_data.get("time_zone"))
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and not start < end:
            self.add_error("window_end", "The window must end after it starts, on the same day (no crossing midnight).")
        return data


@admin.register(EventSettings)
class EventSettingsAdmin(admin.ModelAdmin):
    """The one row of event mode: saved through chat.event_mode.update_settings (audited, the
    cached snapshot replaced, `event.settings_changed` pushed to every online user)."""

    form = EventSettingsForm
    readonly_fields = ("updated_at", "updated_by")

    def get_fields(self, request, obj=None):
        return (*EventSettingsForm.Meta.fields, *self.readonly_fields)

    # Adding is allowed without a query (every admin page asks): the service saves row 1
    # whichever form is posted, so a second row cannot come of it.
    def has_delete_permission(self, request, obj=None):
        return False

    # The service is an outermost (durable) transaction: no admin atomic block around it.
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in EventSettingsForm.Meta.fields}
        row = update_settings(moderator=request.user, ip=request_ip(request), **values)
        obj.pk, obj.updated_at, obj.updated_by = row.pk, row.updated_at, row.updated_by


@admin.register(EventAccessPass)
class EventAccessPassAdmin(admin.ModelAdmin):
    """Users who may use the reel and start calls outside the event window. Granting and
    revoking go through chat.event_mode (audited); a pass is never edited, only revoked."""

    list_display = ("user", "note", "granted_by", "granted_at")
    list_select_related = ("user", "granted_by")
    search_fields = ("=user__email", "user__name")
    ordering = ("-granted_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)
    fields = ("user", "note", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._delete_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        grant = grant_pass(
            form.cleaned_data["user"].pk, moderator=request.user, note=form.cleaned_data["note"], ip=request_ip(request)
        )
        obj.pk, obj.granted_by, obj.granted_at = grant.pk, grant.granted_by, grant.granted_at

    def delete_model(self, request, obj):
        revoke_pass(obj.user_id, moderator=request.user, ip=request_ip(request))

    def delete_queryset(self, request, queryset):
        for user_id in list(queryset.values_list("user_id", flat=True)):
            self.delete_model(request, EventAccessPass(user_id=user_id))


@admin.register(EventRSVP)
class EventRSVPAdmin(ViewOnlyAdmin):
    """RSVPs are the students' own; the list shows them per date and per 15-minute slot (SVG
    charts; ?slot_date=YYYY-MM-DD narrows the slots to one day). Old ones go by retention."""

    list_display = ("date", "preferred_time", "user", "updated_at")
    list_select_related = ("user",)
    search_fields = ("=user__email",)
    date_hierarchy = "date"
    ordering = ("date", "preferred_time")
    show_full_result_count = False
    raw_id_fields = ("user",)
    change_list_template = "admin/chat/eventrsvp/change_list.html"

    def changelist_view(self, request, extra_context=None):
        day = None
        if raw := request.GET.get("slot_date"):
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                self.message_user(request, "slot_date must be YYYY-MM-DD.", messages.ERROR)
        request.GET = request.GET.copy()
        request.GET.pop("slot_date", None)
        chart = rsvp_chart(day=day)
        extra_context = {
            **(extra_context or {}),
            "rsvp_chart": chart,
            "slot_date": day,
            "per_date_svg": mark_safe(  # noqa: S308 - built from escaped labels and numbers
                bar_chart_svg([(d.strftime("%m-%d"), n) for d, n in chart.per_date], label="RSVPs per date")
            ),
            "per_slot_svg": mark_safe(  # noqa: S308
                bar_chart_svg(chart.per_slot, label="RSVPs per 15-minute slot")
            ),
        }
        return super().changelist_view(request, extra_context)
