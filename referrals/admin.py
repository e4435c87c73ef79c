"""Admin for invite codes, their uses, introduction links, referral notifications and the waitlist."""

import base64
import io
import zipfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from config.admin import ViewOnlyAdmin
from config.client_ip import client_ip, request_ip
from referrals import services
from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification, WaitlistEntry
from referrals.waitlist import export_csv, invite_entries


class AdminCodeBatchForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=200, initial=10)
    max_uses = forms.IntegerField(min_value=1, required=False, help_text="Uses per code; empty = unlimited.")
    label = forms.CharField(max_length=60, required=False, help_text="Shown as the creator (e.g. the poster run).")


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin):
    """Codes are made by services (the batch form here, or a user's own code) and switched off
    by the deactivate action (audit row); the change form is view-only."""

    list_display = ("code", "type", "created_by", "max_uses", "uses_remaining", "is_active", "created_at")
    list_filter = ("type", "is_active")
    list_select_related = ("created_by",)
    # code__iendswith: the audit log keeps only a code's last 4 characters (referrals.services.code_suffix).
    search_fields = ("=code", "code__iendswith", "created_by_name", "=created_by__email")
    ordering = ("-created_at",)
    show_full_result_count = False
    autocomplete_fields = ("created_by",)
    # Uses are spent only by the atomic redemption in referrals.services.
    readonly_fields = ("uses_remaining",)
    actions = ("deactivate",)

    def has_change_permission(self, request, obj=None):
        # The changelist actions need "change"; single codes are never edited by hand.
        return obj is None and super().has_change_permission(request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Deactivate selected codes", permissions=["change"])
    def deactivate(self, request, queryset):
        switched = services.deactivate_invite_codes(
            list(queryset.values_list("code", flat=True)), actor=request.user, ip=client_ip(request.META)
        )
        self.message_user(request, f"Deactivated {len(switched)} code(s).", messages.SUCCESS)

    def get_urls(self):
        qr_zip = path("qr.zip", self.admin_site.admin_view(self.qr_zip_view), name="referrals_invitecode_qr_zip")
        return [qr_zip, *super().get_urls()]

    def qr_zip_view(self, request):
        """?codes=A,B,…: one ZIP with a QR PNG per existing code (for the print shop)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        wanted = [services.normalize_code(c) for c in request.GET.get("codes", "").split(",") if c.strip()][:200]
        found = InviteCode.objects.filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for code in found:
                archive.writestr(f"invite-{code}.png", services.invite_code_qr_png(code))
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="invite-codes.zip"'
        return response

    def add_view(self, request, form_url="", extra_context=None):
        """Admin codes come in batches (for QR posters), with one audit row per batch."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AdminCodeBatchForm(request.POST or None)
        codes = []
        if request.method == "POST" and form.is_valid():
            created = services.create_admin_invite_codes(
                count=form.cleaned_data["count"],
                max_uses=form.cleaned_data["max_uses"],
                actor=request.user,
                label=form.cleaned_data["label"],
            )
            codes = [
                {
                    "code": code.code,
                    "url": services.signup_url(code.code),
                    "qr": base64.b64encode(services.invite_code_qr_png(code.code)).decode(),
                }
                for code in created
            ]
            self.message_user(request, f"Created {len(codes)} admin invite code(s).", messages.SUCCESS)
        context = {
            **self.admin_site.each_context(request),
            "title": "Create admin invite codes",
            "opts": self.model._meta,
            "form": form,
            "codes": codes,
            "codes_csv": ",".join(c["code"] for c in codes),
        }
        return TemplateResponse(request, "admin/referrals/invitecode/batch.html", context)


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


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ViewOnlyAdmin):
    """Who asked to be let in (referrals.waitlist). Entries are the visitors' own: no editing;
    actions export the selection as CSV and email selected verified people a single-use admin
    invite code (audited, one line per person)."""

    list_display = ("email", "name", "school", "state", "created_at", "verified_at", "invited_at")
    list_filter = (
        ("verified_at", admin.EmptyFieldListFilter),
        ("invited_at", admin.EmptyFieldListFilter),
        "state",
        "school",
    )
    search_fields = ("email", "name", "school")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("invite_code",)
    exclude = ("code_digest",)
    actions = ("export_csv", "send_invite_codes")

    @admin.action(description="Export selected to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(export_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="waitlist.csv"'
        return response

    def has_invite_permission(self, request):
        return request.user.has_perm("referrals.change_waitlistentry")

    @admin.action(description="Email each selected verified person an invite code", permissions=["invite"])
    def send_invite_codes(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        invited = invite_entries(ids, moderator=request.user, ip=request_ip(request))
        skipped = len(ids) - invited
        self.message_user(request, f"Invited {invited}; skipped {skipped} (not verified or already invited).")
