"""Moderation reads used across apps."""

from django.db.models import Q
from django.utils import timezone

from moderation.models import IPBan, SiteSettings


def is_ip_banned(ip: str | None) -> bool:
    """True while an IP ban for this address is in force (expiry checked here, at read time)."""
    if not ip:
        return False
    return IPBan.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()), ip=ip).exists()


def get_site_settings() -> SiteSettings:
    settings_row, _ = SiteSettings.objects.get_or_create(id=1)
    return settings_row
