"""The whole call flow with the keyboard alone, in Chromium against a real uvicorn, checking
where focus is after each step and what the screen reader is told (live regions).

Ann only ever presses Tab, Shift+Tab, Space, Enter and types: she signs up (a refused submit
puts focus on the field at fault), verifies her @usc.edu address, invites Cy (who declines),
accepts Bea's invite from the dialog (named and described; the 10 s mark is read out),
sends a message, hears Bea typing and answering, ends the call and answers "I'd meet again".
Bea and Cy are the other side, driven as any user. Every text a live region receives is
recorded in the page (`window.__said`) by an init script, as a screen reader would get it."""

import json
import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from accounts.services.sessions import start_session
from referrals.services import create_admin_invite_codes
from tests.a11y_support import WAIT_MS, read_code
from tests.factories import ActiveRoomFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Records the text of every live region (aria-live other than off, or role status/alert/log)
# each time it changes, with the region's id.
RECORD_LIVE_REGIONS = """
window.__said = [];
document.addEventListener("DOMContentLoaded", () => {
  const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      const node = mutation.target.nodeType === 1 ? mutation.target : mutation.target.parentElement;
      const region = node && node.closest(live);
      const text = region ? region.textContent.replace(/\\s+/g, " ").trim() : "";
      const last = window.__said[window.__said.length - 1];
      if (!text || (last && last.region === region.id && last.text === text)) continue;
      window.__said.push({region: region.id, text});
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
});
"""


def open_page(browser, user=None):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if user is not None:
        token = start_session(user, ip="127.0.0.1")
        context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
    context.add_init_script(RECORD_LIVE_REGIONS)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return context, page


def focused(page) -> str:
    """The focused element as a short CSS-like name: #id, or tag.class inside #section."""
    return page.evaluate(
        """() => {
          const a = document.activeElement;
          if (!a || a === document.body) return "body";
          if (a.id) return "#" + a.id;
          const inside = a.closest("section[id], dialog[id], li[data-user], div[id]");
          return (inside ? (inside.id ? "#" + inside.id : "li.person") + " " : "") + a.tagName.toLowerCase()
            + (a.className ? "." + a.className.split(" ").join(".") : "");
        }"""
    )


def tab_to(page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until `selector` has focus (it must be reachable by keyboard)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with Tab in {limit} presses (focus: {focused(page)})")


def said(page, region: str | None = None) -> list[str]:
    return [e["text"] for e in page.evaluate("() => window.__said") if region is None or e["region"] == region]


def wait_said(page, text: str, region: str | None = None, timeout: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in each for each in said(page, region)):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never reached a live region {region or ''}: {said(page, region)[-12:]}")


def expect_focus(page, name: str) -> None:
    deadline = time.monotonic() + WAIT_MS / 1000
    while focused(page) != name and time.monotonic() < deadline:
        time.sleep(0.05)
    assert focused(page) == name


def test_the_call_flow_works_with_the_keyboard_alone_and_tells_a_screen_reader(a11y_stack, browser):
    stack = a11y_stack
    code = create_admin_invite_codes(count=1, max_uses=None, actor=None)[0].code
    bea = UserFactory(name="Bea", access_status=User.AccessStatus.QR_VERIFIED)
    cy = UserFactory(name="Cy", access_status=User.AccessStatus.QR_VERIFIED)
    (ann_context, ann), (bea_context, bea_page), (cy_context, cy_page) = (
        open_page(browser),
        open_page(browser, bea),
        open_page(browser, cy),
    )
    keys = ann.keyboard
    try:
        bea_page.goto(stack.url + "/")
        cy_page.goto(stack.url + "/")

        # Sign-up: a refused submit puts focus on the field at fault, marked and described.
        ann.goto(f"{stack.url}/?invite={code}")
        expect(ann.locator("#signup")).to_be_visible()
        tab_to(ann, "#signup-name")
        keys.type("Ann")
        tab_to(ann, "#signup-gender")
        keys.press("ArrowDown")  # a closed select changes its choice with the arrow keys
        expect(ann.locator("#signup-gender")).not_to_have_value("")
        tab_to(ann, "#signup-submit")
        keys.press("Enter")
        expect_focus(ann, "#signup-terms")
        expect(ann.locator("#signup-terms")).to_have_attribute("aria-invalid", "true")
        expect(ann.locator("#signup-terms")).to_have_accessible_description("Accept the terms to continue.")
        keys.press("Space")
        expect(ann.locator("#signup-terms")).to_be_checked()
        tab_to(ann, "#signup-submit")
        keys.press("Enter")

        # Verification: the new screen's heading takes focus; a wrong code focuses the code box.
        expect(ann.locator("#verify")).to_be_visible()
        expect_focus(ann, "#verify h1")
        tab_to(ann, "#verify-email")
        keys.type("ann@usc.edu")
        keys.press("Enter")
        expect_focus(ann, "#verify-code")
        wait_said(ann, "We sent a 6-digit code to ann@usc.edu.", "announce-polite")
        keys.type("000000")
        keys.press("Enter")
        expect(ann.locator("#verify-code")).to_have_attribute("aria-invalid", "true")
        expect(ann.locator("#verify-code")).to_have_accessible_description(
            re.compile(r"^That code is wrong or expired\.")
        )
        expect_focus(ann, "#verify-code")
        keys.press("Control+a")
        keys.type(read_code(stack.mail_dir, "ann@usc.edu"))
        keys.press("Enter")

        # The reel: heading focused; connection and count are read out.
        expect(ann.locator("#reel")).to_be_visible()
        expect_focus(ann, "#reel h1")
        expect(ann.locator("#verify-code")).not_to_have_attribute("aria-invalid", "true")
        wait_said(ann, "Online as Ann", "conn-status")
        wait_said(ann, "2 people are available.", "reel-status")

        # Ann invites Cy: the waiting card is read out; Cy declines, and Ann is told; Cy leaves
        # the reel (cooldown) and focus goes back to the reel's heading, not to the page.
        tab_to(ann, f'li.person[data-user="{cy.pk}"] button.invite')
        keys.press("Enter")
        expect(ann.locator("#outgoing")).to_be_visible()
        wait_said(ann, "Invite sent. Waiting for Cy to answer, up to", "announce-polite")
        cy_page.click("#incoming-decline")
        wait_said(ann, "Cy declined your invite.", "announce-polite")
        expect(ann.locator(f'li.person[data-user="{cy.pk}"]')).to_have_count(0)
        expect_focus(ann, "#reel h1")
        wait_said(ann, "1 person is available.", "reel-status")

        # Bea invites Ann: focus moves into the dialog, which is named and described; the
        # 10-second mark is read out.
        bea_page.select_option("#invite-seconds", "60")
        ann_id = User.objects.get(email="ann@usc.edu").pk
        bea_page.locator(f'li.person[data-user="{ann_id}"] button.invite').click()
        dialog = ann.get_by_role("dialog", name="Incoming invite")
        expect(dialog).to_be_visible()
        expect(dialog).to_have_accessible_description(
            re.compile(r"^Bea invites you to a text call of 1 min\. Answer within \d+ s$")
        )
        assert focused(ann) == "#incoming-seconds"
        wait_said(ann, "10 seconds left to answer Bea.", "announce-polite", timeout=15)
        tab_to(ann, "#incoming-accept")
        keys.press("Enter")

        # The call: focus in the message box; the call note, Bea typing and her answer are read.
        expect(ann.locator("#room")).to_be_visible()
        expect_focus(ann, "#message-text")
        wait_said(ann, "1 min call", "room-note")
        keys.type("Hi Bea")
        keys.press("Enter")
        expect(bea_page.locator("#messages .message.theirs .text")).to_have_text(["Hi Bea"])
        expect_focus(ann, "#message-text")
        bea_page.locator("#message-text").press_sequentially("Hel")
        wait_said(ann, "Bea is typing…", "typing")
        bea_page.fill("#message-text", "Hello Ann")
        bea_page.press("#message-text", "Enter")
        wait_said(ann, "Hello Ann", "messages")

        # End the call: the call-ended heading takes focus and the summary is read out.
        tab_to(ann, "#end-call")
        keys.press("Enter")
        expect(ann.locator("#ended")).to_be_visible()
        expect_focus(ann, "#ended h1")
        wait_said(ann, "The call was ended. You talked with Bea for", "announce-polite")

        # "I'd meet again": the answer is read out from the question's status line.
        tab_to(ann, "#ended-meet-again button.meet-again-yes")
        keys.press("Space")
        wait_said(ann, "You said you'd meet Bea again.")
        expect(ann.locator("#ended-meet-again button.meet-again-yes")).to_have_attribute("aria-pressed", "true")
        expect_focus(ann, "#ended-meet-again button.meet-again-yes")
    finally:
        for context in (ann_context, bea_context, cy_context):
            context.close()


def test_the_last_seconds_of_a_call_are_said_in_words_not_only_in_red(a11y_stack, browser):
    ann, bea = (UserFactory(name=n, access_status=User.AccessStatus.QR_VERIFIED) for n in ("Ann", "Bea"))
    room = ActiveRoomFactory(
        user_1=ann, user_2=bea, duration_seconds=60, started_at=timezone.now() - timedelta(seconds=48)
    )
    context, page = open_page(browser, ann)
    try:
        page.goto(a11y_stack.url + "/")
        expect(page.locator("#room")).to_be_visible()
        expect(page.locator("#room-time-warning")).to_have_text("Less than 15 seconds left.")
        expect(page.locator("#room-time-warning")).to_have_attribute("role", "status")
        expect(page.locator("#room-timer")).to_have_class("timer low")
    finally:
        context.close()
        # The server writes the disconnect (the room's grace) after the socket closes: wait for
        # it, so the database flush after this test does not race a write to the same rows.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            room.refresh_from_db()
            if room.grace_period_expires is not None or room.ended_at is not None:
                break
            time.sleep(0.1)
