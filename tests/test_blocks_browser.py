"""Blocks and "who I want to meet" in the web client, in real Chromium against a real uvicorn:
the preference form changes the reel, blocking from the call screen ends the call and hides
the two, the settings page lists the block and unblocks, and history has a block button.
Screenshots go to artifacts/<test name>/."""

from playwright.sync_api import expect

from accounts.models import User
from chat.models import Block
from tests.factories import ActiveRoomFactory, ChatHistoryFactory, UserFactory
from tests.test_web_client_browser import WAIT_MS, reel_card, signed_in_page


def test_meet_preferences_and_blocking_from_the_call_and_history_work_in_the_browser(live_stack, browser, screenshots):
    alice = UserFactory(name="Alice", gender=User.Gender.FEMALE)
    bob = UserFactory(name="Bob", gender=User.Gender.MALE)
    carl = UserFactory(name="Carl", gender=User.Gender.MALE)
    ChatHistoryFactory(room=ActiveRoomFactory(user_1=alice, user_2=carl, ended=True), user=alice, partner=carl)
    stack = live_stack("asgi")
    alice_context, alice_page = signed_in_page(browser, alice)
    bob_context, bob_page = signed_in_page(browser, bob)
    contexts = [alice_context, bob_context]
    for page in (alice_page, bob_page):
        page.on("dialog", lambda dialog: dialog.accept())  # the "Block …?" confirmation
    try:
        # Alice wants to meet women only: Bob leaves her reel (and she his), then comes back.
        alice_page.goto(stack.url + "/settings")
        expect(alice_page.locator("#meet-everyone")).to_be_checked()
        alice_page.check("#meet-women")
        expect(alice_page.locator("#meet-everyone")).not_to_be_checked()
        alice_page.click("#meet-save")
        expect(alice_page.locator("#flash")).to_contain_text("Saved")
        alice.refresh_from_db()
        assert alice.meet_genders == [User.Gender.FEMALE]
        screenshots(alice_page, "meet-preferences")
        bob_page.goto(stack.url + "/")
        expect(bob_page.locator("#conn-status")).to_contain_text("Online")
        alice_page.goto(stack.url + "/")
        expect(alice_page.locator("#conn-status")).to_contain_text("Online")
        expect(reel_card(alice_page, "Bob")).to_have_count(0)
        bob_page.reload()
        expect(bob_page.locator("#conn-status")).to_contain_text("Online")
        expect(reel_card(bob_page, "Alice")).to_have_count(0)

        alice_page.goto(stack.url + "/settings")
        alice_page.check("#meet-everyone")
        expect(alice_page.locator("#meet-women")).not_to_be_checked()
        alice_page.click("#meet-save")
        expect(alice_page.locator("#flash")).to_contain_text("Saved")
        alice_page.goto(stack.url + "/")
        expect(reel_card(alice_page, "Bob")).to_be_visible(timeout=WAIT_MS)

        # A call; Bob blocks Alice from the call screen: the call ends for both.
        alice_page.select_option("#invite-mode", "text")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        expect(bob_page.locator("#incoming")).to_be_visible()
        bob_page.click("#incoming-accept")
        expect(bob_page.locator("#room")).to_be_visible()
        expect(bob_page.locator("#block-name")).to_have_text("Alice")
        bob_page.click("#block-partner")
        expect(bob_page.locator("#flash")).to_contain_text("You blocked Alice.")
        for page in (alice_page, bob_page):
            expect(page.locator("#ended")).to_be_visible()
        expect(alice_page.locator("#ended-text")).to_contain_text("The call was ended.")
        expect(alice_page.locator("#ended-text")).not_to_contain_text("block")
        assert Block.objects.filter(blocker=bob, blocked=alice).exists()
        screenshots(bob_page, "blocked-from-the-call")

        # Bob's settings list Alice; unblocking removes her from the list and the table.
        bob_page.goto(stack.url + "/settings")
        entry = bob_page.locator("#block-list li.blocked")
        expect(entry).to_contain_text("Alice")
        screenshots(bob_page, "blocked-people")
        entry.locator("button.unblock").click()
        expect(bob_page.locator("#flash")).to_contain_text("You unblocked Alice.")
        expect(bob_page.locator("#block-list li")).to_have_count(0)
        expect(bob_page.locator("#block-empty")).to_be_visible()
        assert not Block.objects.exists()

        # From history: Alice blocks Carl, a past partner.
        alice_page.goto(stack.url + "/history")
        alice_page.locator("li.call", has_text="Carl").locator("button.block").click()
        expect(alice_page.locator("li.call", has_text="Carl").locator("button.block")).to_have_text("Carl is blocked")
        assert Block.objects.filter(blocker=alice, blocked=carl).exists()
    finally:
        for each in contexts:
            each.close()
