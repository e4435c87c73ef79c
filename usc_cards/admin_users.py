"""USC card tools for the users admin (moderation.admin_users.UserAdmin): a filter by card state and
an action that finalizes pending registrations. Kept here, imported there."""

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef

from config.client_ip import request_ip
from usc_cards.models import USCCardRegistration
from usc_cards.services import finalize_each


class USCCardFilter(admin.SimpleListFilter):
    """ "Pending" is the finalize-registration gap: signed up with a card (usc_id_hash set) but
    no usc_card_registrations row (the beat sweep closes it within USC_FINALIZE_AFTER_MINUTES)."""

    title = "USC card"
    parameter_name = "usc_card"

    def lookups(self, request, model_admin):
        return (
            ("pending", "Scanned, registration pending"),
            ("registered", "Registered"),
            ("none", "No card"),
        )

    def queryset(self, request, queryset):
        registered = Exists(USCCardRegistration.objects.filter(user=OuterRef("pk")))
        if self.value() == "pending":
            return queryset.filter(usc_id_hash__isnull=False).exclude(registered)
        if self.value() == "registered":
            return queryset.filter(registered)
        if self.value() == "none":
            return queryset.filter(usc_id_hash__isnull=True).exclude(registered)
        return queryset


@admin.action(description="Finalize pending USC card registrations")
def finalize_usc_registrations(modeladmin, request, queryset):
    users = list(queryset.filter(usc_id_hash__isnull=False, usc_card__isnull=True))
    result = finalize_each(users, via="admin", actor=request.user, ip=request_ip(request))
    level = messages.WARNING if result["failed"] else messages.SUCCESS
    modeladmin.message_user(
        request, f"Finalized {result['finalized']} registration(s); {result['failed']} refused (see the logs).", level
    )
