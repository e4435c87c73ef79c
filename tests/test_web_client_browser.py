"""The web client end to end in real Chromium against a real uvicorn (README "Try it").

Two people sign up with a poster (admin) invite code, verify their @usc.edu address with the
code from the server's email, see each other in the reel, call (text), chat, wait for the
timer to end the call, find it in their history, and are then hidden from each other's reel
(cooldown) while a third person still sees both. Screenshots of each step are saved under
artifacts/<test name>/."""

import functools
import re
import time
from pathlib import Path

from playwright.sync_api import expect

from referrals.services import create_admin_invite_codes

WAIT_MS = 15_000


def read_code(mail_dir: Path, address: str, timeout: float = 15) -> str:
    """The 6-digit code of the newest email to `address` written by the file email backend."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            text = path.read_text(errors="replace")
            for message in reversed(text.split("-" * 79)):
                if f"To: {address}" in message:
                    found = re.search(r"\b(\d{6})\b", message.split("\n\n", 1)[-1])
                    if found:
                        return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no email with a code reached {address} in {mail_dir}")


def sign_up(page, name: str, gender: str, *, stack, code: str, mail_dir: Path, screenshots):
    """Guest sign-up with a poster code, then the @usc.edu verification step, until the reel."""
    email, step = f"{name.lower()}@usc.edu", name.lower()
    page.goto(f"{stack.url}/?invite={code}")
    expect(page.locator("#signup")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#signup-invite")).to_have_value(code)
    page.fill("#signup-name", name)
    page.select_option("#signup-gender", gender)
    page.check("#signup-terms")
    screenshots(page, f"{step}-signup")
    page.click("#signup-submit")
    expect(page.locator("#verify")).to_be_visible(timeout=WAIT_MS)
    page.fill("#verify-email", email)
    page.click("#verify-send")
    expect(page.locator("#code-form")).to_be_visible(timeout=WAIT_MS)
    page.fill("#verify-code", read_code(mail_dir, email))
    screenshots(page, f"{step}-verify-email")
    page.click("#verify-submit")
    expect(page.locator("#reel")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#conn-status")).to_contain_text("Online", timeout=WAIT_MS)


def reel_card(page, name: str):
    return page.locator("#reel-list li.person").filter(has=page.locator(".person-name", has_text=name))


def test_two_people_meet_chat_and_are_hidden_from_each_other_after_the_call(live_stack, browser, screenshots, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    code = create_admin_invite_codes(count=1, max_uses=None, actor=None)[0].code
    stack = live_stack("asgi", extra_env={"EMAIL_URL": f"filemail:///{mail_dir}"})

    join = functools.partial(sign_up, stack=stack, code=code, mail_dir=mail_dir, screenshots=screenshots)

    alice_context, bob_context, carol_context = (browser.new_context() for _ in range(3))
    alice, bob, carol = (c.new_page() for c in (alice_context, bob_context, carol_context))
    for page in (alice, bob, carol):
        page.set_default_timeout(WAIT_MS)
    try:
        join(alice, "Alice", "female")
        join(bob, "Bob", "male")

        # Each sees the other in the reel (live: presence over the WebSocket).
        expect(reel_card(alice, "Bob")).to_be_visible()
        expect(reel_card(bob, "Alice")).to_be_visible()
        screenshots(alice, "alice-reel")

        # Alice invites Bob to a 1-minute text call; Bob sees the dialog with its countdown.
        alice.select_option("#invite-mode", "text")
        alice.select_option("#invite-seconds", "60")
        reel_card(alice, "Bob").locator("button.invite").click()
        expect(alice.locator("#outgoing")).to_be_visible()
        expect(bob.locator("#incoming")).to_be_visible()
        expect(bob.locator("#incoming-name")).to_have_text("Alice")
        countdown = int(bob.locator("#incoming-countdown").inner_text())
        assert 10 <= countdown <= 20
        screenshots(bob, "bob-incoming-invite")
        bob.select_option("#incoming-seconds", "60")
        bob.click("#incoming-accept")

        # Both are in the room with the timer running.
        for page, partner in ((alice, "Bob"), (bob, "Alice")):
            expect(page.locator("#room")).to_be_visible()
            expect(page.locator("#room-partner")).to_have_text(partner)
            expect(page.locator("#room-timer")).to_have_text(re.compile(r"^00:[0-5]\d$|^01:00$"))

        # Text messages both ways (each stored once, delivered to both).
        alice.fill("#message-text", "Hi Bob! <b>not bold</b>")
        alice.click("#message-send")
        expect(bob.locator("#messages .message.theirs .text")).to_have_text(["Hi Bob! <b>not bold</b>"])
        bob.fill("#message-text", "Hello Alice")
        bob.click("#message-send")
        expect(alice.locator("#messages .message.theirs .text")).to_have_text(["Hello Alice"])
        expect(alice.locator("#messages .message")).to_have_count(2)
        expect(alice.locator("#messages .message.pending")).to_have_count(0)
        screenshots(alice, "alice-room-chat")
        screenshots(bob, "bob-room-chat")

        # The server's timer ends the call (60 s) for both.
        for page in (alice, bob):
            expect(page.locator("#ended")).to_be_visible(timeout=90_000)
            expect(page.locator("#ended")).to_have_attribute("data-reason", "timer")
        screenshots(alice, "alice-call-ended")

        # Both history pages show the call, its messages and the timer total.
        for page, partner in ((alice, "Bob"), (bob, "Alice")):
            page.click("#nav-history")
            expect(page.locator("#history-list .call")).to_have_count(1)
            expect(page.locator("#history-list .call-partner")).to_have_text(partner)
            seconds = int(page.locator("#timer-total").get_attribute("data-seconds"))
            assert 55 <= seconds <= 61
            page.locator("#history-list details summary").click()
            expect(page.locator("#history-list .message .text")).to_have_text(
                ["Hi Bob! <b>not bold</b>", "Hello Alice"]
            )
        screenshots(alice, "alice-history")
        screenshots(bob, "bob-history")

        # Back on the reel: a third person sees both online and available, but Alice and Bob
        # no longer see each other (24-hour cooldown).
        alice.goto(stack.url + "/")
        bob.goto(stack.url + "/")
        for page in (alice, bob):
            expect(page.locator("#conn-status")).to_contain_text("Online")
        join(carol, "Carol", "nonbinary")
        expect(reel_card(carol, "Alice")).to_be_visible()
        expect(reel_card(carol, "Bob")).to_be_visible()
        for page, partner in ((alice, "Bob"), (bob, "Alice")):
            expect(reel_card(page, "Carol")).to_be_visible()  # the reel is live and loaded
            expect(reel_card(page, partner)).to_have_count(0)
        screenshots(alice, "alice-reel-after-call")
        screenshots(carol, "carol-reel")
    finally:
        for context in (alice_context, bob_context, carol_context):
            context.close()
