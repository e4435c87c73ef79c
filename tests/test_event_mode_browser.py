"""Event mode and the waitlist in real Chromium against a real uvicorn: the banner with its
countdown, the reel's closed state with the next opening, the RSVP form, the banner
following an admin change pushed over the WebSocket (event.settings_changed), and the
sign-up page's waitlist link and page."""

import re
import threading
from datetime import UTC, datetime, time

from django.db import connection
from playwright.sync_api import expect

from chat.event_mode import update_settings
from referrals.models import WaitlistEntry
from tests.factories import UserFactory
from tests.test_web_client_browser import WAIT_MS, read_code, signed_in_page


def save_settings(**changes) -> None:
    """update_settings in a thread of its own, as the admin runs it: Playwright's sync API
    keeps an event loop in this one, where the after-commit push could not run."""

    def save() -> None:
        try:
            update_settings(**changes)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=save)
    thread.start()
    thread.join(timeout=30)


def closed_window_now() -> tuple[time, time]:
    """A one-hour UTC window today that does not contain now (and does not cross midnight)."""
    hour = datetime.now(UTC).hour
    start = hour + 2 if hour <= 20 else hour - 3
    return time(start), time(start + 1)


def test_the_banner_counts_down_the_reel_is_closed_and_an_admin_change_arrives_live(live_stack, browser, screenshots):
    stack = live_stack("asgi")
    staff, alice = UserFactory(staff=True), UserFactory(name="Alice")
    start, end = closed_window_now()
    save_settings(
        moderator=staff,
        enabled=True,
        time_zone="UTC",
        window_start=start,
        window_end=end,
        title="Rendezvous night",
        banner="Everyone online at once",
    )
    context, page = signed_in_page(browser, alice)
    try:
        page.goto(stack.url + "/")
        expect(page.locator("#reel")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#event-banner")).to_be_visible()
        expect(page.locator("#event-title")).to_have_text("Rendezvous night")
        expect(page.locator("#event-text")).to_have_text("Everyone online at once")
        expect(page.locator("#event-countdown")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        expect(page.locator("#event-closed")).to_be_visible()
        expect(page.locator("#event-closed-text")).to_contain_text("Next opening")
        expect(page.locator("#reel-status")).to_contain_text("open during events only")
        first = page.locator("#event-countdown").text_content()
        # It ticks (once a second; up to 5 s allowed for a loaded machine's timers).
        expect(page.locator("#event-countdown")).not_to_have_text(first, timeout=5000)
        screenshots(page, "event-closed")

        page.click("#rsvp summary")
        page.fill("#rsvp-time", f"{start:%H}:15")
        page.click("#rsvp-submit")
        expect(page.locator("#flash")).to_contain_text("See you on")
        expect(page.locator("#rsvp-mine li")).to_have_count(1)
        screenshots(page, "rsvp")

        # Staff switch event mode off: the pushed event.settings_changed opens the page.
        save_settings(moderator=staff, enabled=False)
        expect(page.locator("#event-banner")).to_be_hidden(timeout=WAIT_MS)
        expect(page.locator("#event-closed")).to_be_hidden()
        expect(page.locator("#reel-status")).not_to_contain_text("open during events only", timeout=WAIT_MS)
        screenshots(page, "event-off")
    finally:
        context.close()


def test_sign_up_without_a_code_links_to_the_waitlist_which_verifies_the_email(
    live_stack, browser, screenshots, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    stack = live_stack("asgi", extra_env={"EMAIL_URL": f"filemail:///{mail_dir}"})
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(stack.url + "/?invite=ABCDEFGH12345678")
        expect(page.locator("#signup")).to_be_visible()
        expect(page.locator("#waitlist-link")).to_be_hidden()
        page.fill("#signup-invite", "")
        expect(page.locator("#waitlist-link")).to_be_visible()
        page.click("#waitlist-link a")
        expect(page.locator("#waitlist-form")).to_be_visible()
        page.fill("#waitlist-name", "Carol")
        page.fill("#waitlist-school", "USC")
        page.fill("#waitlist-state", "CA")
        page.fill("#waitlist-email", "carol@example.edu")
        page.click("#waitlist-submit")
        expect(page.locator("#waitlist-verify-form")).to_be_visible()
        page.fill("#waitlist-code", read_code(mail_dir, "carol@example.edu"))
        page.click("#waitlist-verify")
        expect(page.locator("#waitlist-done")).to_contain_text("You are on the waitlist")
        screenshots(page, "waitlist-done")
        assert WaitlistEntry.objects.get(email="carol@example.edu").verified_at is not None
    finally:
        context.close()
