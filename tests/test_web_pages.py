"""The web client's pages (config/pages.py, templates/, static/rdv/) and the history endpoint
they read. The behaviour in a browser is tested in tests/test_web_client_browser.py."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.api_support import api, signed_in
from tests.factories import ActiveRoomFactory, ChatHistoryFactory, UserFactory

PAGES = {
    "/": ["signup-form", "verify", "email-form", "code-form", "reel-list", "incoming", "room-timer", "message-form",
          "end-call", "report-form", "selfie-form", "video-form", "event-banner", "event-countdown", "event-closed",
          "rsvp-form", "rsvp-date", "rsvp-time", "waitlist-link"],
    "/history": ["timer-total", "history-list"],
    "/waitlist": ["waitlist-form", "waitlist-email", "waitlist-verify-form", "waitlist-code"],
    "/settings": ["invite-code", "invite-qr", "invite-link", "profile-instagram", "location-share", "location-stop",
                  "selfie-form", "video-form"],
}  # fmt: skip


@pytest.fixture
def pages(settings):
    # Static files straight from static/ (as under DEBUG), without a collectstatic step.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    return Client()


@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_with_its_elements_and_is_never_cached(db, pages, path):
    response = pages.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    for element in PAGES[path]:
        assert f'id="{element}"' in html, element


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_event_handler(db, pages, path):
    """CSP-friendly: all JavaScript comes from static files (script-src 'self' would work)."""
    html = pages.get(path).content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    assert all("src=" in tag for tag in scripts), scripts
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)


@pytest.mark.parametrize("path", PAGES)
def test_the_scripts_and_styles_a_page_links_are_served(db, pages, path):
    html = pages.get(path).content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        response = pages.get(asset)
        assert response.status_code == 200, asset
        expected = "javascript" if asset.endswith(".js") else "css"
        assert expected in response["Content-Type"], (asset, response["Content-Type"])


def test_the_invite_link_of_a_qr_code_opens_the_sign_up_page(db, pages):
    """Invite QR codes point at SITE_URL/?invite=<code>: that URL is the sign-up page."""
    response = pages.get("/?invite=ABCDEFGH12345678&ref=XYZ")
    assert response.status_code == 200
    assert 'id="signup-invite"' in response.content.decode()


def test_pages_refuse_writes(db, pages):
    assert pages.post("/").status_code == 405


def test_history_lists_my_calls_newest_first_with_their_messages(db, alice, bob, stranger):
    older = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True, started_at=timezone.now() - timedelta(hours=2))
    newer = ActiveRoomFactory(user_1=alice, user_2=stranger, ended=True)
    snapshot = [{"id": 1, "sender": str(alice.pk), "kind": "text", "text": "hi", "url": None, "sent_at": "x"}]
    ChatHistoryFactory(room=older, user=alice, partner=bob, created_at=timezone.now() - timedelta(hours=2))
    ChatHistoryFactory(room=newer, user=alice, partner=stranger, messages=snapshot, duration_seconds=61)
    ChatHistoryFactory(room=older, user=bob, partner=alice)  # Bob's row is not Alice's

    response = signed_in(alice).get("/api/me/history")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["partner_name"] for r in rows] == ["Stranger", "Bob"]
    assert rows[0]["room"] == str(newer.pk)
    assert rows[0]["partner"] == str(stranger.pk)
    assert rows[0]["duration_seconds"] == 61
    assert rows[0]["messages"] == snapshot


def test_history_keeps_a_deleted_partners_name(db, alice):
    gone = UserFactory(name="Gone")
    ChatHistoryFactory(room=ActiveRoomFactory(user_1=alice, user_2=gone, ended=True), user=alice, partner=gone)
    gone.delete()
    rows = signed_in(alice).get("/api/me/history").json()["results"]
    assert [(r["partner"], r["partner_name"]) for r in rows] == [(None, "Gone")]


def test_history_is_cursor_paginated(db, alice, bob):
    for hours in range(3):
        room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
        ChatHistoryFactory(room=room, user=alice, partner=bob, created_at=timezone.now() - timedelta(hours=hours))
    client = signed_in(alice)
    first = client.get("/api/me/history?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_history_needs_a_session(db):
    response = api().get("/api/me/history")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
