"""Screening in the web client, in real Chromium with fake cameras against a real uvicorn: the
partner's video arrives blurred and each side shows it with a tap; "Report what I see" files a
report with a still captured by the reporter's own client; a censored message offers the
recipient "Does this bother you?"."""

from playwright.sync_api import expect

from moderation.models import Report
from tests.browser import fake_camera_pages, reel_card, wait_for_js
from tests.factories import UserFactory

WAIT_MS = 15_000


def is_blurred(page) -> bool:
    return page.evaluate("getComputedStyle(document.getElementById('remote-video')).filter.includes('blur')")


def test_partner_video_starts_blurred_shows_on_tap_and_reports_with_a_still(live_stack, browser, screenshots):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    stack = live_stack("asgi")
    cameras, pages = fake_camera_pages(browser, (alice, bob), stack.url + "/", timeout_ms=WAIT_MS)
    try:
        alice_page, bob_page = pages["Alice"], pages["Bob"]
        alice_page.select_option("#invite-mode", "video")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        bob_page.click("#incoming-accept")
        for page in (alice_page, bob_page):
            expect(page.locator("#video-area")).to_be_visible()
            wait_for_js(page, "document.getElementById('remote-video').videoWidth > 0", timeout=30_000)
            assert is_blurred(page)  # each side's partner video arrives blurred
            expect(page.locator("#video-reveal")).to_be_visible()
        screenshots(alice_page, "video-blurred")

        bob_page.click("#video-reveal")  # Bob chooses to see Alice
        assert not is_blurred(bob_page)
        assert is_blurred(alice_page)  # Alice's choice is her own
        expect(bob_page.locator("#video-blur")).to_be_visible()
        screenshots(bob_page, "video-shown")

        # A censored message: Bob is offered "Does this bother you?" and taps it.
        alice_page.fill("#message-text", "text me at (213) 555-0147")
        alice_page.click("#message-send")
        received = bob_page.locator("#messages .message.theirs").last
        expect(received.locator(".text")).not_to_contain_text("0147")
        received.locator("button.bother").click()
        expect(received.locator("button.bother")).to_have_text("Reported. Thank you.")
        expect(alice_page.locator("#messages .message.mine button.bother")).to_have_count(0)

        # Alice reports what she sees: her client captures the still and uploads it.
        alice_page.click("#video-report")
        expect(alice_page.locator("#flash")).to_contain_text("with a still of the video")
        assert is_blurred(alice_page)
        report = Report.objects.get(reporter=alice, reported=bob)
        assert report.category == "nudity" and report.video_still.startswith("evidence/stills/")
        bother = Report.objects.get(reporter=bob, reported=alice)
        assert "Does this bother you?" in bother.text
        assert any("0147" not in m.get("text", "") for m in bother.messages_snapshot)
    finally:
        cameras.close()
