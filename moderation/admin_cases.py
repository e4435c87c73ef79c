"""The moderators' queue in the admin: one case per reported person in priority order (minors
and threats, weighted evidence, age), who claimed it, the evidence kept at report time,
internal notes, and one-click decisions with a preset reason (moderation.case_actions: one
service, one transaction, one audit line each). Strikes, presets and appeals beside it."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from config.admin import ViewOnlyAdmin
from config.client_ip import request_ip
from config.errors import ServiceError
from moderation import appeals, case_actions, queue
from moderation.models import Appeal, Case, CaseNote, Report, Strike, StrikePreset


class CaseActionForm(ActionForm):
    """The action bar: a preset reason and free text for the one-click decisions."""

    preset = forms.ModelChoiceField(queryset=StrikePreset.objects.filter(active=True), required=False)
    text = forms.CharField(required=False, max_length=1000, label="reason / note")


class ReportInline(admin.TabularInline):
    model = Report
    fields = ("created_at", "category", "source", "reporter", "reporter_ip", "weight", "text", "messages", "files_then")
    fields += ("evidence", "outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="selfie / video then")
    def files_then(self, obj):
        links = [
            (reverse("admin:moderation_report_evidence", args=[n]), label)
            for n, label in ((obj.reported_selfie, "selfie"), (obj.reported_video, "video"))
            if n
        ]
        return format_html_join(" ", '<a href="{}" target="_blank" rel="noopener">{}</a>', links) or "-"

    @admin.display(description="messages then")
    def messages(self, obj):
        rows = obj.messages_snapshot[-10:]
        return format_html_join("", "<div>{}</div>", ((str(m.get("text", ""))[:200],) for m in rows)) or "-"


class NoteInline(admin.TabularInline):
    model = CaseNote
    fields = ("created_at", "author", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ViewOnlyAdmin):
    list_display = ("id", "reported_name", "urgent", "weight", "age", "claimed", "status", "outcome")
    list_filter = ("status", "urgent")
    list_select_related = ("reported", "claimed_by")
    search_fields = ("reported_name", "=reported__email")
    readonly_fields = ("reported", "reported_name", "status", "urgent", "weight", "opened_at", "claimed_by")
    readonly_fields += ("claimed_at", "closed_at", "closed_by", "outcome", "evidence")
    inlines = (ReportInline, NoteInline)
    action_form = CaseActionForm
    actions = ("claim", "note", "warn", "suspend_1", "suspend_7", "suspend_30", "ban", "dismiss")
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("status", "-urgent", "-weight", "opened_at", "pk")

    def changelist_view(self, request, extra_context=None):
        age = queue.queue_age()
        oldest = f", the oldest open {age['oldest_hours']} h" if age["oldest_hours"] is not None else ""
        title = f"Moderation queue — {age['open']} open, {age['urgent']} urgent, {age['overdue']} overdue{oldest}"
        extra_context = {**(extra_context or {}), "title": title}
        return super().changelist_view(request, extra_context)

    @admin.display(description="open for")
    def age(self, obj):
        end = obj.closed_at or timezone.now()
        return f"{(end - obj.opened_at).total_seconds() / 3600:.1f} h"

    @admin.display(description="claimed by")
    def claimed(self, obj):
        return obj.claimed_by.name if obj.claimed_by else "—"

    @admin.display(description="prior strikes, linked reporters")
    def evidence(self, obj):
        found = queue.get_case_evidence(obj)
        strikes = format_html_join(
            "",
            "<li>{} — {} ({})</li>",
            ((s.created_at.date(), s.action, s.reason[:120]) for s in found["prior_strikes"]),
        )
        groups = format_html_join("", "<li>{}</li>", ((", ".join(g),) for g in found["linked_groups"]))
        return format_html("<b>Prior strikes</b><ul>{}</ul><b>Linked reporters</b><ul>{}</ul>", strikes, groups)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("moderation.change_case")  # the actions; fields stay read-only

    def _each(self, request, queryset, fn, done):
        ok = 0
        for case_id in queryset.values_list("pk", flat=True):
            try:
                fn(case_id)
                ok += 1
            except ServiceError as exc:
                self.message_user(request, f"case {case_id}: {exc.message}", messages.ERROR)
        if ok:
            self.message_user(request, f"{done}: {ok} case(s).", messages.SUCCESS)

    def _decide(self, request, queryset, decision, days=None):
        preset = request.POST.get("preset") or None
        text = request.POST.get("text", "")
        self._each(
            request,
            queryset,
            lambda pk: case_actions.decide_case(
                pk,
                moderator=request.user,
                decision=decision,
                preset_id=preset,
                text=text,
                days=days,
                ip=request_ip(request),
            ),
            f"{decision}{f' {days} days' if days else ''}",
        )

    @admin.action(description="Claim", permissions=["change"])
    def claim(self, request, queryset):
        self._each(request, queryset, lambda pk: case_actions.claim_case(pk, moderator=request.user), "Claimed")

    @admin.action(description="Add the text as an internal note", permissions=["change"])
    def note(self, request, queryset):
        text = request.POST.get("text", "")
        self._each(
            request, queryset, lambda pk: case_actions.add_case_note(pk, moderator=request.user, text=text), "Noted"
        )

    @admin.action(description="Warn (preset reason)", permissions=["change"])
    def warn(self, request, queryset):
        self._decide(request, queryset, "warn")

    @admin.action(description="Suspend 1 day", permissions=["change"])
    def suspend_1(self, request, queryset):
        self._decide(request, queryset, "suspend", 1)

    @admin.action(description="Suspend 7 days", permissions=["change"])
    def suspend_7(self, request, queryset):
        self._decide(request, queryset, "suspend", 7)

    @admin.action(description="Suspend 30 days", permissions=["change"])
    def suspend_30(self, request, queryset):
        self._decide(request, queryset, "suspend", 30)

    @admin.action(description="Ban permanently", permissions=["change"])
    def ban(self, request, queryset):
        self._decide(request, queryset, "ban")

    @admin.action(description="Dismiss (no violation)", permissions=["change"])
    def dismiss(self, request, queryset):
        self._decide(request, queryset, "dismiss")


@admin.register(StrikePreset)
class StrikePresetAdmin(admin.ModelAdmin):
    list_display = ("title", "text", "active")
    list_filter = ("active",)


@admin.register(Strike)
class StrikeAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "action", "reason", "automatic", "status", "created_by", "created_at", "ends_at")
    list_filter = ("action", "status", "automatic")
    list_select_related = ("user", "created_by")
    raw_id_fields = ("user",)
    show_full_result_count = False


class AppealActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=1000)


@admin.register(Appeal)
class AppealAdmin(ViewOnlyAdmin):
    list_display = ("id", "strike", "status", "text", "created_at", "decided_by", "decided_at")
    list_filter = ("status",)
    list_select_related = ("strike", "decided_by")
    action_form = AppealActionForm
    actions = ("overturn", "uphold")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("moderation.change_appeal")

    def _decide(self, request, queryset, overturn):
        reason = request.POST.get("reason", "")
        for appeal_id in queryset.values_list("pk", flat=True):
            try:
                appeals.decide_appeal(
                    appeal_id, moderator=request.user, overturn=overturn, reason=reason, ip=request_ip(request)
                )
                self.message_user(request, f"appeal {appeal_id} decided.", messages.SUCCESS)
            except ServiceError as exc:
                self.message_user(request, f"appeal {appeal_id}: {exc.message}", messages.ERROR)

    @admin.action(description="Overturn (reverse the action)", permissions=["change"])
    def overturn(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description="Uphold (reason required)", permissions=["change"])
    def uphold(self, request, queryset):
        self._decide(request, queryset, False)


admin.site.register(CaseNote, ViewOnlyAdmin)
