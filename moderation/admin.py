"""Admin for reports, bans, IP bans, the audit log and site settings: the moderators' console.
Every action calls moderation.services (one transaction with its audit row); the
change forms that write go around the admin's own atomic block, because those services are
outermost (durable) transactions."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from accounts.admin import json_block
from audit.selectors import list_audit_lines_for
from chat.live_stats import dashboard_charts
from config.admin import DirectWriteMixin, NoWritesAdmin, ViewOnlyAdmin
from config.client_ip import request_ip
from config.errors import ServiceError
from moderation import (
    admin_cases,  # noqa: F401 - registers the queue, strikes, presets and appeals
    evidence,
    live,
    queue,
    selectors,
    services,
)
from moderation.admin_users import run_action  # also registers the users admin
from moderation.models import AuditLog, DataExport, IPBan, Report, SiteSettings, UserBan

admin.site.index_template = "admin/moderation_index.html"

REVIEW_PAGE_SIZE = 20


def evidence_url(name: str) -> str:
    return reverse("admin:moderation_report_evidence", args=[name]) if name else ""


@admin.register(Report)
class ReportAdmin(DirectWriteMixin, admin.ModelAdmin):
    """Reports are evidence made by users: only `reviewed` changes here (through the service,
    audited); who, what, where and the snapshot never do."""

    list_display = ("id", "reported_name", "reported", "reporter", "category", "reviewed", "created_at")
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
        "selfie_evidence",
        "video_evidence",
        "still_evidence",
        "screening_images",
        "messages_pretty",
    )
    readonly_fields = tuple(name for name in fields if name != "reviewed")  # evidence never changes

    @admin.display(description="messages snapshot")
    def messages_pretty(self, obj):
        return json_block(obj.messages_snapshot)

    @admin.display(description="selfie (at report time)")
    def selfie_evidence(self, obj):
        if not obj.reported_selfie:
            return "-"
        return format_html('<img src="{}" alt="selfie" style="max-width:240px">', evidence_url(obj.reported_selfie))

    @admin.display(description="still of the video (captured by the reporter)")
    def still_evidence(self, obj):
        if not obj.video_still:
            return "-"
        return format_html('<img src="{}" alt="still" style="max-width:320px">', evidence_url(obj.video_still))

    @admin.display(description="screening images (side by side)")
    def screening_images(self, obj):
        names = [n for entry in obj.messages_snapshot if isinstance(entry, dict) for n in entry.get("images", [])]
        if not names:
            return "-"
        return format_html_join(
            "",
            '<img src="{}" alt="evidence" style="max-width:240px;margin-right:1em">',
            ((evidence_url(n),) for n in names),
        )

    @admin.display(description="video (at report time)")
    def video_evidence(self, obj):
        if not obj.reported_video:
            return "-"
        return format_html(
            '<video src="{}" controls preload="metadata" style="max-width:320px"></video>',
            evidence_url(obj.reported_video),
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.set_report_reviewed(
            obj.pk, reviewed=form.cleaned_data["reviewed"], moderator=request.user, ip=request_ip(request)
        )

    def get_urls(self):
        extra = [
            path(
                "evidence/<path:name>",
                self.admin_site.admin_view(self.evidence_view),
                name="moderation_report_evidence",
            ),
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="moderation_dashboard"),
        ]
        return extra + super().get_urls()

    def evidence_view(self, request, name):
        """A report's selfie/video for staff who may view reports; never under public /media/."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        kind = evidence.content_type(name)
        if kind is None or ".." in name.split("/") or not name.startswith(("evidence/", "selfies/", "videos/")):
            raise Http404
        if not default_storage.exists(name):
            raise Http404
        if not default_storage.__class__.__name__.endswith("FileSystemStorage"):
            return HttpResponseRedirect(default_storage.url(name))  # S3: a signed, expiring URL
        response = FileResponse(default_storage.open(name, "rb"), content_type=kind)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = selectors.get_dashboard()
        peak = max([1] + [max(d["reports"], d["bans"]) for d in data["days"]])
        context = {
            **self.admin_site.each_context(request),
            "title": "Moderation dashboard",
            "opts": self.model._meta,
            "peak": peak,
            **data,
            **dashboard_charts(data["days"]),  # live stats and SVG charts (chat.live_stats)
            "live_now": live.live_block(),  # the "Live now" block (admin/moderation/live_block.html)
            "queue": queue.queue_age(),  # open cases, urgent, overdue, the oldest's age
        }
        return TemplateResponse(request, "admin/moderation/dashboard.html", context)


class ReviewReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


@admin.register(UserBan)
class UserBanAdmin(admin.ModelAdmin):
    """Ban records change only through the actions (permanent ban, vindicate, unban)."""

    list_display = ("user", "status", "review_status", "report_count", "banned_at", "reviewed_by")
    list_filter = ("status", "review_status")
    list_select_related = ("user", "reviewed_by")
    search_fields = ("=user__email", "user__name")
    date_hierarchy = "banned_at"
    ordering = ("banned_at",)  # the review queue: oldest first
    show_full_result_count = False
    raw_id_fields = ("user", "reviewed_by")
    readonly_fields = (
        "user",
        "status",
        "reason",
        "report_count",
        "banned_at",
        "review_status",
        "reviewed_at",
        "reviewed_by",
        "ip_addresses",
    )
    actions = ("ban_permanently", "vindicate", "unban")
    change_list_template = "admin/moderation/userban/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Ban permanently (and IP-ban their session addresses)", permissions=["change"])
    def ban_permanently(self, request, queryset):
        run_action(self, request, services.ban_permanently, queryset.values_list("user_id", flat=True), "Banned")

    @admin.action(description="Vindicate (lift the ban, mark reports reviewed)", permissions=["change"])
    def vindicate(self, request, queryset):
        run_action(self, request, services.vindicate, queryset.values_list("user_id", flat=True), "Vindicated")

    @admin.action(description="Unban (remove the ban record)", permissions=["change"])
    def unban(self, request, queryset):
        run_action(self, request, services.unban, queryset.values_list("user_id", flat=True), "Unbanned")

    def get_urls(self):
        extra = [
            path("review/", self.admin_site.admin_view(self.review_view), name="moderation_review_queue"),
            path(
                "review/<uuid:user_id>/<str:decision>/",
                self.admin_site.admin_view(require_POST(self.decide_view)),
                name="moderation_review_decide",
            ),
        ]
        return extra + super().get_urls()

    def review_view(self, request):
        """Pending bans, oldest first: the reports with reasons, the selfie and video seen at
        report time, and the room's messages; a decision per user."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        page = Paginator(selectors.pending_bans(), REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Review queue",
            "opts": self.model._meta,
            "page": page,
            "bans": [
                {
                    "ban": ban,
                    "reports": [
                        {
                            "report": r,
                            "selfie_url": evidence_url(r.reported_selfie),
                            "video_url": evidence_url(r.reported_video),
                        }
                        for r in ban.user.queue_reports
                    ],
                }
                for ban in page.object_list
            ],
        }
        return TemplateResponse(request, "admin/moderation/review_queue.html", context)

    def decide_view(self, request, user_id, decision):
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ReviewReasonForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        try:
            if decision == "permanent":
                services.ban_permanently(user_id, moderator=request.user, reason=reason, ip=request_ip(request))
                ips = ", ".join(IPBan.objects.filter(user_id=user_id).values_list("ip", flat=True)) or "none"
                self.message_user(request, f"Banned permanently; IP bans: {ips}.", messages.SUCCESS)
            elif decision == "vindicate":
                services.vindicate(user_id, moderator=request.user, ip=request_ip(request))
                self.message_user(request, "Vindicated: ban lifted, reports marked reviewed.", messages.SUCCESS)
            else:
                raise Http404
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return redirect("admin:moderation_review_queue")


class IPBanForm(forms.ModelForm):
    class Meta:
        model = IPBan
        fields = ("ip", "user", "reason", "expires_at")

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future (or empty for a permanent ban).")
        return value


@admin.register(IPBan)
class IPBanAdmin(DirectWriteMixin, admin.ModelAdmin):
    """Adding, editing and lifting go through moderation.services (audit row each)."""

    form = IPBanForm
    list_display = ("ip", "user", "reason", "banned_at", "banned_by", "expires_at", "in_force")
    list_select_related = ("user", "banned_by")
    search_fields = ("ip", "=user__email")
    ordering = ("-banned_at",)
    show_full_result_count = False
    autocomplete_fields = ("user",)
    readonly_fields = ("banned_at", "banned_by")
    actions = ("lift_selected",)

    @admin.display(boolean=True, description="in force")
    def in_force(self, obj):
        return obj.expires_at is None or obj.expires_at > timezone.now()

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("ip",) if obj else ())

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # lifting goes through the service (audit rows)
        return actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        ban = services.ban_ip(
            obj.ip,
            moderator=request.user,
            reason=data.get("reason", ""),
            expires_at=data.get("expires_at"),
            user=data.get("user"),
            ip=request_ip(request),
        )
        obj.ip, obj.banned_at, obj.banned_by = ban.ip, ban.banned_at, ban.banned_by

    def delete_model(self, request, obj):
        services.lift_ip_ban(obj.ip, moderator=request.user, ip=request_ip(request))

    @admin.action(description="Lift selected IP bans", permissions=["delete"])
    def lift_selected(self, request, queryset):
        lifted = sum(
            services.lift_ip_ban(ip, moderator=request.user, ip=request_ip(request))
            for ip in queryset.values_list("ip", flat=True)
        )
        self.message_user(request, f"Lifted {lifted} IP ban(s).", messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(NoWritesAdmin):
    """Append-only: nobody, superusers included, adds, edits or deletes rows here. Lines about a
    private act (a block, a user's own export) are shown only to those who may see the act
    (audit.selectors.PRIVATE_EVENTS): not in the list, search, date drill-down or detail page."""

    list_display = ("created_at", "event_type", "actor", "target", "ip")
    list_select_related = ("actor", "target")
    search_fields = ("^event_type", "=actor__email", "=target__email")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("actor", "target")
    fields = ("created_at", "event_type", "actor", "target", "ip", "details_pretty")
    readonly_fields = fields

    def get_queryset(self, request):
        return list_audit_lines_for(request.user, super().get_queryset(request))

    @admin.display(description="details")
    def details_pretty(self, obj):
        return json_block(obj.details)


@admin.register(SiteSettings)
class SiteSettingsAdmin(DirectWriteMixin, admin.ModelAdmin):
    """One row (id=1, made by migration 0002): edit it, never add a second or delete it.
    Saving goes through services.set_open_signup (audit row)."""

    list_display = ("__str__", "open_signup", "updated_at")
    fields = ("open_signup", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not SiteSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        row = services.set_open_signup(form.cleaned_data["open_signup"], moderator=request.user, ip=request_ip(request))
        obj.pk, obj.open_signup, obj.updated_at = row.pk, row.open_signup, row.updated_at


@admin.register(DataExport)
class DataExportAdmin(ViewOnlyAdmin):
    """Users' own data exports (operations/exports.py): when and whether they were fetched, not
    the file. Not in the moderators' permissions (moderation/roles.py): superusers only."""

    list_display = ("id", "user", "status", "requested_at", "expires_at", "downloads")
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("=user__email",)
    ordering = ("-requested_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)
    exclude = ("file",)
