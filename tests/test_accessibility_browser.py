"""axe-core (WCAG 2.0/2.1 A and AA, plus axe's best practices) on every screen of the web
client and of the moderators' admin, in Chromium at 1280×800 and at 390×844: any violation
fails. The screens are reached as a person reaches them (sign-up with a poster code, the
@usc.edu verification, the reel, an incoming invite, the call, the call-ended screen, then
settings, history, matches; the waitlist signed out), not rendered in isolation, so what the
scripts add (reel cards, messages, the meet-again question, dialogs) is checked too."""

import json

import pytest
from playwright.sync_api import expect

from accounts.models import User
from accounts.services.sessions import start_session
from moderation.roles import ensure_moderators_group
from referrals.services import create_admin_invite_codes
from tests.a11y_support import WAIT_MS, read_code
from tests.api_support import PASSWORD
from tests.factories import ReportFactory, UserBanFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WEB_SCREENS = [
    "sign-up",
    "verification",
    "verification code",
    "reel",
    "waiting card",
    "incoming invite",
    "call",
    "call ended",
    "settings",
    "history",
    "matches",
    "waitlist",
]
ADMIN_SCREENS = [
    "admin login",
    "admin dashboard",
    "admin review queue",
    "admin index",
    "admin user list",
    "admin user change",
]


def signed_in_context(browser, user):
    token = start_session(user, ip="127.0.0.1")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
    return context


def test_every_screen_of_the_web_client_passes_axe_at_both_sizes(a11y_stack, browser, audit):
    stack = a11y_stack
    code = create_admin_invite_codes(count=1, max_uses=None, actor=None)[0].code
    bea = UserFactory(name="Bea", access_status=User.AccessStatus.QR_VERIFIED)
    ann_context = browser.new_context(viewport={"width": 1280, "height": 800})
    bea_context = signed_in_context(browser, bea)
    signed_out = browser.new_context(viewport={"width": 1280, "height": 800})
    ann, bea_page, visitor = ann_context.new_page(), bea_context.new_page(), signed_out.new_page()
    for page in (ann, bea_page, visitor):
        page.set_default_timeout(WAIT_MS)
    try:
        ann.goto(f"{stack.url}/?invite={code}")
        expect(ann.locator("#signup")).to_be_visible()
        audit(ann, "sign-up")
        ann.fill("#signup-name", "Ann")
        ann.select_option("#signup-gender", label="Prefer not to say")
        ann.check("#signup-terms")
        ann.click("#signup-submit")
        expect(ann.locator("#verify")).to_be_visible()
        audit(ann, "verification")
        ann.fill("#verify-email", "ann@usc.edu")
        ann.click("#verify-send")
        expect(ann.locator("#code-form")).to_be_visible()
        audit(ann, "verification code")
        ann.fill("#verify-code", read_code(stack.mail_dir, "ann@usc.edu"))
        ann.click("#verify-submit")
        expect(ann.locator("#conn-status")).to_contain_text("Online")

        bea_page.goto(stack.url + "/")
        expect(ann.locator("#reel-list .person")).to_have_count(1)
        audit(ann, "reel")

        bea_page.select_option("#invite-seconds", "60")
        bea_page.locator("#reel-list .person button.invite").first.click()
        expect(bea_page.locator("#outgoing")).to_be_visible()
        audit(bea_page, "waiting card")
        expect(ann.locator("#incoming")).to_be_visible()
        audit(ann, "incoming invite")
        ann.click("#incoming-accept")
        expect(ann.locator("#room")).to_be_visible()
        ann.fill("#message-text", "Hi Bea")
        ann.press("#message-text", "Enter")
        expect(bea_page.locator("#messages .message.theirs")).to_have_count(1)
        bea_page.fill("#message-text", "Hello Ann")
        bea_page.press("#message-text", "Enter")
        expect(ann.locator("#messages .message.theirs")).to_have_count(1)
        expect(ann.get_by_label("Send a photo")).to_be_visible()  # a text call: axe checks the control too
        audit(ann, "call")
        ann.click("#end-call")
        expect(ann.locator("#ended")).to_be_visible()
        expect(ann.locator(".meet-again-yes")).to_be_visible()
        audit(ann, "call ended")
        ann.click(".meet-again-yes")
        expect(bea_page.locator(".meet-again-yes")).to_be_visible()
        bea_page.click(".meet-again-yes")
        expect(ann.locator(".meet-again")).to_have_attribute("data-matched", "1")

        ann.goto(stack.url + "/settings")
        expect(ann.locator("#profile-name")).to_have_value("Ann")
        audit(ann, "settings")
        ann.goto(stack.url + "/history")
        expect(ann.locator("#history-list .call")).to_have_count(1)
        audit(ann, "history")
        ann.goto(stack.url + "/matches")
        expect(ann.locator("#match-list > li")).to_have_count(1)
        audit(ann, "matches")

        visitor.goto(stack.url + "/waitlist")
        expect(visitor.locator("#waitlist-form")).to_be_visible()
        audit(visitor, "waitlist")

        # Whatever the client comes to animate stops for people who asked for reduced motion.
        moving = """() => { const box = document.createElement("div");
          box.style.cssText = "transition: opacity 2s; animation: none 3s"; document.body.append(box);
          const style = getComputedStyle(box); return [style.transitionDuration, style.animationDuration]; }"""
        assert visitor.evaluate(moving) == ["2s", "3s"]
        visitor.emulate_media(reduced_motion="reduce")
        assert all(float(each.rstrip("s")) < 0.001 for each in visitor.evaluate(moving))
    finally:
        for context in (ann_context, bea_context, signed_out):
            context.close()
    audit.assert_clean(WEB_SCREENS)


def test_every_admin_screen_a_moderator_uses_passes_axe_at_both_sizes(a11y_stack, browser, audit):
    stack = a11y_stack
    moderator = UserFactory(staff=True, is_superuser=True, name="Morgan", email="morgan@usc.edu")
    moderator.set_password(PASSWORD)
    moderator.save()
    moderator.groups.add(ensure_moderators_group())
    student = UserFactory(name="Sam", access_status=User.AccessStatus.QR_VERIFIED)
    ReportFactory(reported=student)
    UserBanFactory(user__name="Mallory")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(f"{stack.url}/admin/login/")
        audit(page, "admin login")
        page.fill("input[name=username]", "morgan@usc.edu")
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible()
        page.goto(f"{stack.url}/admin/moderation/report/dashboard/")
        expect(page.locator("#per-day")).to_be_visible()
        audit(page, "admin dashboard")
        page.goto(f"{stack.url}/admin/moderation/userban/review/")
        expect(page.get_by_text("Mallory").first).to_be_visible()
        audit(page, "admin review queue")
        page.goto(f"{stack.url}/admin/")
        audit(page, "admin index")
        page.goto(f"{stack.url}/admin/accounts/user/")
        expect(page.locator("#result_list")).to_be_visible()
        audit(page, "admin user list")
        page.goto(f"{stack.url}/admin/accounts/user/{student.pk}/change/")
        expect(page.locator("#user_form")).to_be_visible()
        audit(page, "admin user change")
    finally:
        context.close()
    audit.assert_clean(ADMIN_SCREENS)
