"""The moderators' queue and the ban screen in real Chromium against a real uvicorn: a
moderator sees the urgent case first and suspends for 7 days with a preset in one click; the
suspended member's screen says why, since and until when, and takes an appeal.
Screenshots: artifacts/<test name>/ (copied to docs/screenshots/)."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from moderation.models import Appeal, Case, Strike, StrikePreset
from tests.api_support import PASSWORD
from tests.factories import ActiveRoomFactory, UserFactory
from tests.moderation_support import file, fresh_reporter, trusted_reporter
from tests.test_admin_browser import make_moderator
from tests.test_web_client_browser import signed_in_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_moderator_suspends_from_the_queue_and_the_member_sees_why_and_appeals(live_stack, browser, screenshots):
    make_moderator()
    troll = UserFactory(name="Mallory Troll")
    for n in (1, 2):
        file(trusted_reporter(troll), troll, ip=f"203.0.{n}.9")
    minor = UserFactory(name="Young Person")
    reporter = fresh_reporter()
    ActiveRoomFactory(user_1=reporter, user_2=minor, ended=True)
    file(reporter, minor, ip="198.51.100.4", category="underage")
    preset, _ = StrikePreset.objects.get_or_create(
        title="Harassment", defaults={"text": "You harassed or insulted another member."}
    )
    stack = live_stack("asgi")

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{stack.url}/admin/login/")
    page.fill("input[name=username]", "morgan@usc.edu")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{stack.url}/admin/moderation/case/")
    rows = page.locator("#result_list tbody tr")
    expect(rows.nth(0)).to_contain_text("Young Person")  # underage first, whatever the weight
    expect(rows.nth(1)).to_contain_text("Mallory Troll")
    screenshots(page, "queue")

    case = Case.objects.get(reported=troll)
    page.check(f"input[name=_selected_action][value='{case.pk}']")
    page.select_option("select[name=action]", "suspend_7")
    page.select_option("select[name=preset]", str(preset.pk))
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Suspend 7 days: 1 case(s)")
    assert Case.objects.get(pk=case.pk).status == "closed"
    assert User.objects.get(pk=troll.pk).ban_status == "temporary"
    strike = Strike.objects.get(user=troll, automatic=False)

    context, member = signed_in_page(browser, User.objects.get(pk=troll.pk))
    member.goto(stack.url + "/")
    expect(member.locator("#banned")).to_be_visible()
    expect(member.locator("#banned-why")).to_contain_text(preset.text)
    expect(member.locator("#banned-why")).to_contain_text("Until")
    form = member.locator(f"li.strike[data-strike='{strike.pk}'] form.appeal-form")
    form.locator("textarea").fill("I was quoting a film, not insulting anyone.")
    screenshots(member, "ban-screen")
    form.locator("button[type=submit]").click()
    expect(member.locator("#flash")).to_contain_text("Your appeal was sent")
    expect(member.locator(f"li.strike[data-strike='{strike.pk}']")).to_contain_text("waiting for a moderator")
    assert Appeal.objects.get(strike=strike).text == "I was quoting a film, not insulting anyone."
    screenshots(member, "appeal-sent")
    context.close()
