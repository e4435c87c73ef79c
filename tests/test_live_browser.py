"""One live connection across the whole web client, in real Chromium against a real uvicorn:
an invite reaches a person on /settings and accepting it takes them into the call; a match
arrives live on /history; two tabs of one person share one socket (counted by the server);
the server's "available while browsing" rules (60 s hidden, 5 min idle, the settings switch)
seen from a browser whose own clock the test moves (Playwright's page.clock), the server's
limits shortened through PRESENCE_HIDDEN_SECONDS / PRESENCE_IDLE_SECONDS.

Screenshots: artifacts/<test name>/ (the invite on /settings is copied to docs/screenshots/)."""

import time

from playwright.sync_api import expect

from chat import presence, presence_state
from chat.services.matches import answer_meet_again
from tests.browser import ROOT, reel_card
from tests.factories import ActiveRoomFactory, ChatHistoryFactory, UserFactory
from tests.test_web_client_browser import WAIT_MS, signed_in_page


def in_thread(fn, *args, **kwargs):
    """A service call from another thread: its pushes after commit run async_to_sync, which
    Playwright's event loop in this thread forbids."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def live_open(page):
    """The page's live connection is signed in (body[data-live], set by static/rdv/live.js)."""
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=WAIT_MS)


def open_tab(context, url: str):
    """Another tab of the same browser profile on `url`, once its live connection is up."""
    page = context.new_page()
    page.goto(url)
    live_open(page)
    return page


def eventually(check, *, timeout: float = 15.0, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(message or f"not true within {timeout} s")
        time.sleep(0.1)


def test_an_invite_received_on_settings_is_accepted_there_and_leads_into_the_call(live_stack, browser, screenshots):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    stack = live_stack("asgi")
    (alice_context, alice_page), (bob_context, bob_page) = signed_in_page(browser, alice), signed_in_page(browser, bob)
    try:
        bob_page.goto(stack.url + "/settings")
        live_open(bob_page)
        alice_page.goto(stack.url + "/")
        alice_page.select_option("#invite-mode", "text")
        reel_card(alice_page, "Bob").locator("button.invite").click()  # Bob is browsing, and discoverable

        dialog = bob_page.locator("#incoming")
        expect(dialog).to_be_visible()
        expect(bob_page.locator("#incoming-name")).to_have_text("Alice")
        expect(bob_page.locator("#incoming-countdown")).not_to_have_text("0")
        focused = bob_page.evaluate("() => Boolean(document.activeElement.closest('#incoming'))")
        assert focused, "focus moves into the invite"
        expect(bob_page.locator("#announce-urgent")).to_contain_text("Alice invites you to a text call")
        screenshots(bob_page, "invite-on-settings")
        bob_page.screenshot(path=str(ROOT / "docs" / "screenshots" / "14-invite-on-settings.png"))  # the viewport

        bob_page.click("#incoming-accept")
        bob_page.wait_for_url(stack.url + "/")
        expect(bob_page.locator("#room")).to_be_visible()
        expect(alice_page.locator("#room")).to_be_visible()
        expect(bob_page.locator("#room-partner")).to_have_text("Alice")
        screenshots(bob_page, "in-the-call")
    finally:
        alice_context.close()
        bob_context.close()


def test_escape_declines_an_invite_on_settings(live_stack, browser):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    stack = live_stack("asgi")
    (alice_context, alice_page), (bob_context, bob_page) = signed_in_page(browser, alice), signed_in_page(browser, bob)
    try:
        bob_page.goto(stack.url + "/matches")
        live_open(bob_page)
        alice_page.goto(stack.url + "/")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        expect(bob_page.locator("#incoming")).to_be_visible()

        bob_page.keyboard.press("Escape")

        expect(bob_page.locator("#incoming")).to_be_hidden()
        expect(alice_page.locator("#flash")).to_contain_text("Bob declined your invite.")
    finally:
        alice_context.close()
        bob_context.close()


def test_a_match_arrives_live_on_the_history_page(live_stack, browser, screenshots):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    ChatHistoryFactory(room=room, user=bob, partner=alice)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    stack = live_stack("asgi")
    context, page = signed_in_page(browser, bob)
    try:
        page.goto(stack.url + "/history")
        live_open(page)
        box = page.locator(f".meet-again[data-room='{room.pk}']")
        expect(box).to_have_attribute("data-answer", "yes")

        in_thread(answer_meet_again, alice, room_id=room.pk, answer=True)  # Alice says yes elsewhere

        expect(page.locator("#flash")).to_contain_text("It's a match! You and Alice")
        expect(page.locator(f".meet-again[data-room='{room.pk}']")).to_have_attribute("data-matched", "1")
        screenshots(page, "match-on-history")
    finally:
        context.close()


def test_two_tabs_of_one_person_share_one_socket(live_stack, browser):
    bob = UserFactory(name="Bob")
    stack = live_stack("asgi")
    context, settings_page = signed_in_page(browser, bob)
    try:
        settings_page.goto(stack.url + "/settings")
        live_open(settings_page)
        history_page = open_tab(context, stack.url + "/history")
        reel_page = open_tab(context, stack.url + "/")

        assert presence.socket_count(bob.pk) == 1
        eventually(lambda: presence_state._read(bob.pk).get("state") == "reel", message="a tab on the reel counts")

        reel_page.close(run_before_unload=True)  # as a person closes a tab: pagehide runs
        eventually(lambda: presence_state._read(bob.pk).get("state") == "browsing", message="back to browsing")
        assert presence.socket_count(bob.pk) == 1
        settings_page.close(run_before_unload=True)
        history_page.close(run_before_unload=True)
        eventually(lambda: presence.socket_count(bob.pk) == 0, message="the last tab closing closes the socket")
        assert not presence.is_available(bob.pk)
    finally:
        context.close()


def test_without_shared_worker_each_tab_has_its_own_socket(live_stack, browser):
    bob = UserFactory(name="Bob")
    stack = live_stack("asgi")
    context, page = signed_in_page(browser, bob)
    context.add_init_script("window.RDV_NO_SHARED_WORKER = true")
    try:
        page.goto(stack.url + "/settings")
        live_open(page)
        open_tab(context, stack.url + "/history")

        assert presence.socket_count(bob.pk) == 2
        assert presence.is_available(bob.pk)
    finally:
        context.close()


def hide(page, hidden: bool) -> None:
    """The tab hidden (another tab or app in front) or shown again, as the browser says it."""
    page.evaluate(
        """(hidden) => {
            const state = hidden ? "hidden" : "visible";
            Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
            document.hasFocus = () => !hidden;
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_browsing_availability_follows_the_hidden_and_idle_rules_and_the_switch(live_stack, browser, screenshots):
    bob = UserFactory(name="Bob")
    stack = live_stack("asgi", extra_env={"PRESENCE_HIDDEN_SECONDS": "2", "PRESENCE_IDLE_SECONDS": "5"})
    context, page = signed_in_page(browser, bob)
    try:
        page.clock.install()
        page.goto(stack.url + "/settings")
        live_open(page)
        assert presence.is_available(bob.pk), "browsing counts as available"

        # 5 (here) minutes without touching a page: no longer available.
        started = time.monotonic()
        eventually(lambda: not presence.is_available(bob.pk), timeout=15, message="idle lapses")
        assert time.monotonic() - started > 2, "not before the idle time"
        # The person comes back: the page reports activity (at most every 30 s of its clock).
        page.clock.fast_forward(31_000)
        page.mouse.move(10, 10)
        page.mouse.move(40, 40)
        eventually(lambda: presence.is_available(bob.pk), message="activity makes them available again")

        # Every page hidden for 60 (here 2) seconds: no longer available, before the idle time.
        hide(page, True)
        eventually(lambda: presence_state._read(bob.pk).get("hidden_since"), message="the server knows it is hidden")
        eventually(lambda: not presence.is_available(bob.pk), timeout=4.5, message="hidden lapses")
        hide(page, False)
        eventually(lambda: presence.is_available(bob.pk), message="shown again: available again")

        # The switch in Settings: off, only the reel counts.
        page.uncheck("#discoverable-browsing")
        expect(page.locator("#flash")).to_contain_text("people find you only while the reel or a call is open")
        eventually(lambda: not presence.is_available(bob.pk), timeout=3, message="the switch applies at once")
        bob.refresh_from_db()
        assert bob.discoverable_while_browsing is False
        screenshots(page, "switch-off")
        page.check("#discoverable-browsing")
        page.mouse.move(20, 20)
        eventually(lambda: presence.is_available(bob.pk), message="the switch back on")
    finally:
        context.close()
