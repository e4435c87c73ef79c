"""The web client's wording and small behaviours, in Chromium against a real uvicorn: every
refusal said once in a sentence (no raw field name), the same sentence for a blank name on
sign-up and in settings, no gender recorded by default, "Ask for video" only after the first
minute, sharing no socials refused in words, a message refused for speed can be sent again,
the Block card after a call no longer says a call ends, buttons keep a gap, networks written
as their owners write them. Screenshots go to artifacts/<test name>/ (docs/screenshots/ keeps
a few)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import ActiveRoomFactory, ChatHistoryFactory, UserFactory
from tests.test_web_client_browser import WAIT_MS, signed_in_page


def gap_between(page, first: str, second: str) -> float:
    """Horizontal space between two elements on the same line (px)."""
    a = page.locator(first).first.bounding_box()
    b = page.locator(second).first.bounding_box()
    return b["x"] - (a["x"] + a["width"])


def test_sign_up_and_settings_refusals_are_one_sentence_without_field_names(live_stack, browser, screenshots):
    stack = live_stack("asgi")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    alice = UserFactory(name="Alice")
    contexts = [context]
    try:
        page.goto(stack.url + "/")
        expect(page.locator("#signup-gender")).to_have_value("")  # nothing chosen for the person
        expect(page.locator("#signup-gender option", has_text="Prefer not to say")).to_have_count(1)
        page.fill("#signup-name", "Dana")
        page.check("#signup-terms")
        page.click("#signup-submit")
        expect(page.locator("#signup-form .form-error")).to_have_text("Choose your gender, or “Prefer not to say”.")

        page.select_option("#signup-gender", "unspecified")
        page.fill("#signup-invite", "NOTAREALCODE0000")
        page.click("#signup-submit")
        expect(page.locator("#flash")).to_have_text("That invite code is not valid.")
        expect(page.locator("#signup-form .form-error")).to_have_text("That invite code is not valid.")
        screenshots(page, "invalid-invite-code")

        alice_context, alice_page = signed_in_page(browser, alice)
        contexts.append(alice_context)
        alice_page.goto(stack.url + "/settings")
        expect(alice_page.locator("#profile-name")).to_have_value("Alice")
        for network, label in (("linkedin", "LinkedIn"), ("tiktok", "TikTok"), ("instagram", "Instagram")):
            expect(alice_page.locator(f"label:has(input[data-network={network}])")).to_contain_text(label)
        alice_page.fill("#profile-name", "")
        alice_page.click("#profile-save")
        expect(alice_page.locator("#profile-form .form-error")).to_have_text("Enter your first name.")
        screenshots(alice_page, "settings-blank-name")
    finally:
        for each in contexts:
            each.close()


def test_a_text_call_offers_video_after_a_minute_refuses_empty_socials_and_resends(live_stack, browser, screenshots):
    stack = live_stack("asgi")
    alice = UserFactory(name="Alice", access_status=User.AccessStatus.QR_VERIFIED)
    bob = UserFactory(name="Bob", access_status=User.AccessStatus.QR_VERIFIED)
    ActiveRoomFactory(user_1=alice, user_2=bob, chat_mode="text", duration_seconds=600)
    alice_context, alice_page = signed_in_page(browser, alice)
    bob_context, bob_page = signed_in_page(browser, bob)
    try:
        bob_page.goto(stack.url + "/")
        expect(bob_page.locator("#room")).to_be_visible()
        alice_page.goto(stack.url + "/")
        expect(alice_page.locator("#room")).to_be_visible()
        expect(alice_page.locator("#upgrade-request")).to_be_hidden()
        expect(alice_page.locator("#upgrade-wait")).to_have_text("You can ask for video after the first minute.")

        alice_page.click("#share-socials")
        expect(alice_page.locator("#flash")).to_have_text("You have no socials to share yet: add them in Settings.")
        expect(alice_page.locator("#room-note")).not_to_contain_text("shared")
        expect(alice_page.locator("#messages li.system")).to_have_count(0)

        alice_page.fill("#message-text", "hi")
        alice_page.click("#message-send")
        alice_page.fill("#message-text", "are you there?")
        alice_page.click("#message-send")
        failed = alice_page.locator("#messages li.failed")
        expect(failed).to_contain_text("not sent")
        expect(failed.locator("button.resend")).to_have_text("Send again")
        screenshots(alice_page, "not-sent-send-again")
        alice_page.wait_for_timeout(1600)  # one message every 1.5 s
        failed.locator("button.resend").click()
        expect(alice_page.locator("#messages li.failed")).to_have_count(0)
        expect(bob_page.locator("#messages li")).to_have_count(2)
        expect(bob_page.locator("#messages")).to_contain_text("are you there?")

        alice_page.click("#end-call")
        expect(alice_page.locator("#ended")).to_be_visible()
        expect(alice_page.locator("#block-note")).not_to_contain_text("ends now")
        expect(alice_page.locator("#block-note")).to_contain_text("They are not told")
        assert gap_between(alice_page, "#ended .meet-again-yes", "#ended .meet-again-no") >= 4
        screenshots(alice_page, "call-ended")
    finally:
        alice_context.close()
        bob_context.close()


def test_ask_for_video_shows_once_a_text_call_is_a_minute_old_and_history_buttons_keep_a_gap(
    live_stack, browser, screenshots
):
    stack = live_stack("asgi")
    alice = UserFactory(name="Alice", access_status=User.AccessStatus.QR_VERIFIED)
    bob = UserFactory(name="Bob", access_status=User.AccessStatus.QR_VERIFIED)
    carl = UserFactory(name="Carl")
    ChatHistoryFactory(room=ActiveRoomFactory(user_1=alice, user_2=carl, ended=True), user=alice, partner=carl)
    a_minute_ago = timezone.now() - timedelta(seconds=61)
    ActiveRoomFactory(user_1=alice, user_2=bob, chat_mode="text", started_at=a_minute_ago, duration_seconds=600)
    context, page = signed_in_page(browser, alice)
    try:
        page.goto(stack.url + "/")
        expect(page.locator("#upgrade-request")).to_be_visible()
        expect(page.locator("#upgrade-wait")).to_be_hidden()
        screenshots(page, "ask-for-video")
        page.goto(stack.url + "/history")
        expect(page.locator(".call .introduce")).to_be_visible()
        assert gap_between(page, ".call .introduce", ".call .block") >= 4
    finally:
        context.close()
