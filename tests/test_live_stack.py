"""The end-to-end harness itself: real server processes on the test database, and Chromium."""

import json
import urllib.request

from moderation.models import SiteSettings


def test_a_live_server_writes_into_the_test_database(live_stack):
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": True})
    stack = live_stack("asgi")
    body = json.dumps({"name": "Live", "gender": "female", "terms_accepted": True}).encode()
    request = urllib.request.Request(
        f"{stack.url}/api/auth/signup", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
    from accounts.models import User

    assert User.objects.filter(name="Live").exists()


def test_chromium_renders_the_admin_login_page(live_stack, browser, screenshots):
    stack = live_stack("asgi")
    page = browser.new_page()
    page.goto(f"{stack.url}/admin/login/")
    assert page.locator("input[name=username]").is_visible()
    shot = screenshots(page, "admin-login")
    assert shot.stat().st_size > 1000
    page.close()
