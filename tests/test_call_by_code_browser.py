"""Call by code in the web client, in real Chromium against a real uvicorn: a code nobody I can
call has gets the server's one sentence in the status line; a friend's code, typed in lower case
with dashes, shows their card with the reel's Invite button, and inviting from it reaches them.
axe checks the reel with the form, the refusal and the card. Screenshots go to
artifacts/<test name>/ (docs/screenshots/13-call-by-code.png is the card's)."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.factories import InviteCodeFactory, UserFactory
from tests.test_web_client_browser import WAIT_MS, signed_in_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_typing_a_friends_code_shows_their_card_and_invites_them(live_stack, browser, screenshots, audit):
    alice = UserFactory(name="Alice", access_status=User.AccessStatus.QR_VERIFIED)
    bob = UserFactory(name="Bob", access_status=User.AccessStatus.QR_VERIFIED)
    code = InviteCodeFactory(user_code=True, created_by=bob).code
    stack = live_stack("asgi")
    alice_context, alice_page = signed_in_page(browser, alice)
    bob_context, bob_page = signed_in_page(browser, bob)
    try:
        bob_page.goto(stack.url + "/")
        expect(bob_page.locator("#conn-status")).to_contain_text("Online")
        alice_page.goto(stack.url + "/")
        expect(alice_page.locator("#conn-status")).to_contain_text("Online")
        expect(alice_page.locator("#call-by-code-form")).to_be_visible()

        alice_page.fill("#call-by-code-input", "NOTA-CODE-ANYONE-HAS")
        alice_page.click("#call-by-code-submit")
        status = alice_page.locator("#call-by-code-status")
        expect(status).to_have_text("No one you can call right now has that code.", timeout=WAIT_MS)
        expect(alice_page.locator("#call-by-code-card li.person")).to_have_count(0)
        audit(alice_page, "call by code, refused")

        typed = "-".join(code.lower()[i : i + 4] for i in range(0, 16, 4))
        alice_page.fill("#call-by-code-input", typed)
        alice_page.click("#call-by-code-submit")
        card = alice_page.locator("#call-by-code-card li.person")
        expect(card).to_have_count(1, timeout=WAIT_MS)
        expect(card.locator(".person-name")).to_have_text("Bob")
        expect(status).to_have_text("Bob can take a call now.")
        expect(status).to_have_attribute("role", "status")
        audit(alice_page, "call by code, found")
        screenshots(alice_page, "call-by-code")

        alice_page.select_option("#invite-mode", "text")
        card.locator("button.invite").click()
        expect(alice_page.locator("#outgoing")).to_be_visible()
        expect(alice_page.locator("#outgoing-name")).to_have_text("Bob")
        expect(bob_page.locator("#incoming")).to_be_visible()
        expect(bob_page.locator("#incoming-name")).to_contain_text("Alice")
        screenshots(bob_page, "incoming-from-a-code")
    finally:
        alice_context.close()
        bob_context.close()
    audit.assert_clean(["call by code, refused", "call by code, found"])
