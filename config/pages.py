"""The web client's pages (README "Try it"). Thin shells: the session token lives in the
browser (localStorage) and every action goes through the REST API and the WebSocket, so
these views only render a template with the few constants the scripts need."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.validation import SOCIAL_HANDLES
from chat.models import MAX_CALL_SECONDS, MIN_CALL_SECONDS
from moderation.models import ReportCategory

# Call lengths offered in the invite and accept dialogs (seconds, within the protocol's bounds).
CALL_LENGTHS = [s for s in (60, 120, 180, 300, 600, 900, 1800) if MIN_CALL_SECONDS <= s <= MAX_CALL_SECONDS]
# How each network and gender is written on the pages (not capfirst: "LinkedIn", "TikTok").
NETWORK_LABELS = {
    "instagram": "Instagram",
    "snapchat": "Snapchat",
    "tiktok": "TikTok",
    "x": "X",
    "linkedin": "LinkedIn",
    "discord": "Discord",
}
GENDER_LABELS = {"unspecified": "Prefer not to say"}
# "profile" is for a selfie/video seen in the reel, not for someone met in a call.
REPORT_CATEGORIES = [value for value in ReportCategory.values if value != ReportCategory.PROFILE]


def _page(request, template: str, page: str, **context):
    context = {
        "page": page,
        "genders": [(value, GENDER_LABELS.get(value, label)) for value, label in User.Gender.choices],
        "network_labels": ",".join(f"{key}={NETWORK_LABELS.get(key, key)}" for key in sorted(SOCIAL_HANDLES)),
        "call_lengths": [(seconds, _label(seconds)) for seconds in CALL_LENGTHS],
        "report_categories": REPORT_CATEGORIES,
        "gif_hosts": ",".join(settings.GIF_HOSTS),
        **context,
    }
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def _label(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


@require_GET
def home(request):
    """Sign-up, email verification, the reel, invites and the call itself (one page, so the
    WebSocket stays open from the reel into the room)."""
    return _page(request, "app.html", "home")


@require_GET
def waitlist(request):
    """Join the waitlist (referrals.waitlist) when sign-up is invite-only and you have no code."""
    return _page(request, "waitlist.html", "waitlist")


@require_GET
def history(request):
    return _page(request, "history.html", "history")


@require_GET
def settings_page(request):
    networks = [(network, NETWORK_LABELS.get(network, network)) for network in sorted(SOCIAL_HANDLES)]
    return _page(request, "settings.html", "settings", social_networks=networks)


@require_GET
def matches(request):
    """People I matched with after a call, their shared socials, mine, unmatch."""
    return _page(request, "matches.html", "matches", social_networks=sorted(SOCIAL_HANDLES))
