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


def get_ban_summary(user) -> dict:
    """What a (banned) user may see of their own ban: status and review state, no reporters."""
    from moderation.models import UserBan

    record = UserBan.objects.filter(user=user).first()
    return {
        "ban_status": user.ban_status,
        "review_status": record.review_status if record else None,
        "reason": record.reason if record else None,
        "banned_at": record.banned_at if record else None,
    }
