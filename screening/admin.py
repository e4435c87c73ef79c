"""Admin for screening: watched words (patterns validated before saving), detector switches,
hidden media (restore or remove) and held accounts (side by side with the banned person's
image; release). Writes go through screening.decisions or carry an audit line."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from audit.services import record_audit
from config.admin import DirectWriteMixin, NoWritesAdmin, ViewOnlyAdmin
from config.errors import ServiceError
from screening import decisions
from screening.models import AccountHold, Detector, MediaScan, ScreenedMessage, WatchedWord
from screening.patterns import PatternError, validate_pattern

IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "mp4": "video/mp4", "webm": "video/webm"}


class WatchedWordForm(forms.ModelForm):
    class Meta:
        model = WatchedWord
        fields = ("pattern", "is_regex", "action", "note")

    def clean(self):
        data = super().clean()
        pattern = data.get("pattern")
        if pattern is not None:
            try:
                validate_pattern(pattern, is_regex=bool(data.get("is_regex")))
            except PatternError as exc:
                self.add_error("pattern", str(exc))
        return data


@admin.register(WatchedWord)
class WatchedWordAdmin(admin.ModelAdmin):
    form = WatchedWordForm
    list_display = ("pattern", "is_regex", "action", "note", "created_by", "created_at")
    list_filter = ("action", "is_regex")
    search_fields = ("pattern", "note")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        record_audit(
            "screening.word_saved",
            actor=request.user,
            details={"word": obj.pk, "pattern": obj.pattern, "regex": obj.is_regex, "action": obj.action},
        )

    def delete_model(self, request, obj):
        record_audit("screening.word_deleted", actor=request.user, details={"word": obj.pk, "pattern": obj.pattern})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Detector)
class DetectorAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "action", "updated_at")
    list_editable = ("enabled", "action")
    fields = ("name", "enabled", "action")
    readonly_fields = ("name",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit("screening.detector_saved", actor=request.user,
                     details={"detector": obj.name, "enabled": obj.enabled, "action": obj.action})  # fmt: skip


@admin.register(ScreenedMessage)
class ScreenedMessageAdmin(NoWritesAdmin):
    """What screening did to a message (censor or flag) and which rules matched."""

    list_display = ("message", "action", "rules", "created_at")
    list_filter = ("action",)
    raw_id_fields = ("message",)


def _media_url(scan_id) -> str:
    return reverse("admin:screening_mediascan_file", args=[scan_id])


def _preview(scan: MediaScan | None) -> str:
    if scan is None:
        return "—"
    if scan.kind == MediaScan.Kind.SELFIE:
        return format_html('<img src="{}" alt="selfie" style="max-width:240px">', _media_url(scan.pk))
    return format_html('<video src="{}" controls muted style="max-width:240px"></video>', _media_url(scan.pk))


@admin.register(MediaScan)
class MediaScanAdmin(DirectWriteMixin, ViewOnlyAdmin):
    list_display = ("id", "user", "kind", "frame", "nudity_score", "status", "kept_for_ban", "created_at")
    list_filter = ("status", "kind", "kept_for_ban")
    search_fields = ("=user__email", "file")
    raw_id_fields = ("user", "decided_by")
    readonly_fields = ("preview",)
    actions = ("restore", "remove")

    @admin.display(description="image")
    def preview(self, obj):
        return _preview(obj)

    def get_urls(self):
        view = self.admin_site.admin_view(self.file_view)
        return [path("<int:scan_id>/file/", view, name="screening_mediascan_file"), *super().get_urls()]

    def file_view(self, request, scan_id):
        """The scanned media, for staff only (hidden media is not shown anywhere else)."""
        if not request.user.is_staff:
            raise PermissionDenied
        scan = MediaScan.objects.filter(pk=scan_id).first()
        kind = IMAGE_TYPES.get(scan.file.rsplit(".", 1)[-1].lower()) if scan else None
        if scan is None or kind is None or not default_storage.exists(scan.file):
            raise Http404("The file is gone (the hash is kept).")
        response = FileResponse(default_storage.open(scan.file, "rb"), content_type=kind)
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def _decide(self, request, queryset, fn, done):
        for scan in queryset:
            try:
                fn(scan.pk, moderator=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{scan.pk}: {exc.message}", messages.WARNING)
            else:
                self.message_user(request, f"{scan.file}: {done}.", messages.SUCCESS)

    @admin.action(description="Restore (no violation): show the media again")
    def restore(self, request, queryset):
        self._decide(request, queryset, decisions.restore_media, "restored")

    @admin.action(description="Remove (violation): delete the media, with a strike")
    def remove(self, request, queryset):
        self._decide(request, queryset, decisions.remove_media, "removed")


@admin.register(AccountHold)
class AccountHoldAdmin(DirectWriteMixin, ViewOnlyAdmin):
    list_display = ("id", "user", "distance", "created_at", "released_at")
    list_filter = (("released_at", admin.EmptyFieldListFilter),)
    raw_id_fields = ("user", "scan", "matched_scan", "released_by")
    readonly_fields = ("side_by_side",)
    actions = ("release",)

    @admin.display(description="new selfie | banned person's")
    def side_by_side(self, obj):
        return format_html(
            "<div style='display:flex;gap:1em'>{}{}</div>", _preview(obj.scan), _preview(obj.matched_scan)
        )

    @admin.action(description="Release (not the banned person): give back the reel and invites")
    def release(self, request, queryset):
        for hold in queryset:
            try:
                decisions.release_hold(hold.pk, moderator=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{hold.pk}: {exc.message}", messages.WARNING)
