"""Matches and My data in real Chromium against a real uvicorn (and, for the export, a real
Celery worker): after a call both say "I'd meet again" and are told it is a match, share a
social on the Matches page, unmatch; a user prepares their data export in Settings, the
worker builds it and emails the link, and the file downloads with the owner's token."""

import json
import re
import time
from pathlib import Path

from playwright.sync_api import expect

from moderation.models import DataExport
from tests.factories import UserFactory
from tests.test_web_client_browser import WAIT_MS, reel_card, signed_in_page


def test_two_yeses_after_a_call_make_a_match_with_shared_socials_and_unmatch(live_stack, browser, screenshots):
    alice = UserFactory(name="Alice", socials={"instagram": "alice.ig"})
    bob = UserFactory(name="Bob")
    stack = live_stack("asgi")
    (alice_context, alice_page), (bob_context, bob_page) = signed_in_page(browser, alice), signed_in_page(browser, bob)
    try:
        for page in (alice_page, bob_page):
            page.goto(stack.url + "/")
        alice_page.select_option("#invite-mode", "text")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        bob_page.click("#incoming-accept")
        expect(alice_page.locator("#room")).to_be_visible()
        alice_page.click("#end-call")
        for page in (alice_page, bob_page):
            expect(page.locator("#ended-meet-again .meet-again")).to_be_visible()
        alice_page.click("#ended-meet-again .meet-again-yes")
        expect(alice_page.locator("#ended-meet-again .meet-again")).to_have_attribute("data-answer", "yes")
        screenshots(alice_page, "alice-said-yes")
        bob_page.click("#ended-meet-again .meet-again-yes")
        for page in (alice_page, bob_page):
            expect(page.locator("#flash")).to_contain_text("It's a match!")
            expect(page.locator("#ended-meet-again .meet-again")).to_have_attribute("data-matched", "1")
        screenshots(bob_page, "bob-match")

        alice_page.goto(stack.url + "/matches")
        match = alice_page.locator("#match-list li.match")
        expect(match.locator(".match-partner")).to_have_text("Bob")
        match.locator("input[value=instagram]").check()
        match.locator(".share-save").click()
        expect(alice_page.locator("#flash")).to_contain_text("Bob now sees your instagram.")

        bob_page.goto(stack.url + "/matches")
        expect(bob_page.locator("#match-list .partner-socials")).to_contain_text("Instagram: alice.ig")
        screenshots(bob_page, "bob-matches")
        bob_page.once("dialog", lambda dialog: dialog.accept())
        bob_page.locator("#match-list .unmatch").click()
        expect(bob_page.locator("#match-list")).to_have_attribute("data-count", "0")
        alice_page.reload()
        expect(alice_page.locator("#match-list")).to_have_attribute("data-count", "0")
    finally:
        alice_context.close()
        bob_context.close()


def read_link(mail_dir: Path, address: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in mail_dir.glob("*.log"):
            text = path.read_text(errors="replace")
            if f"To: {address}" in text:
                found = re.search(r"(http\S+/settings\?export=[0-9a-f-]+#my-data)", text)
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no export email reached {address}")


def test_my_data_is_built_by_the_worker_emailed_and_downloaded_with_the_owners_token(
    live_stack, browser, screenshots, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    alice = UserFactory(name="Alice", email="alice@usc.edu", email_verified=True)
    stack = live_stack("asgi", "worker", extra_env={"EMAIL_URL": f"filemail:///{mail_dir}"})
    context, page = signed_in_page(browser, alice)
    try:
        page.goto(stack.url + "/settings")
        page.click("#export-request")
        link = read_link(mail_dir, "alice@usc.edu")
        export = DataExport.objects.get(user=alice)
        assert export.status == DataExport.Status.READY and str(export.pk) in link
        page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), stack.url))
        item = page.locator(f"#export-list li.export[data-export='{export.pk}']")
        expect(item).to_have_attribute("data-status", "ready", timeout=WAIT_MS)
        screenshots(page, "my-data")
        with page.expect_download() as downloaded:
            item.locator(".export-download").click()
        document = json.loads(Path(downloaded.value.path()).read_text())
        assert document["profile"]["id"] == str(alice.pk)
        export.refresh_from_db()
        assert export.downloads == 1
    finally:
        context.close()
