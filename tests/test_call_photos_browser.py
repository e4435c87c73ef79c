"""A photo in a text call, in real Chromium against a real uvicorn: Alice sends one with the
"Send a photo" control, sees it as being checked, Bob sees nothing until the image screening
passes it (the screening task run here, as the screening worker would), then both see it
inline; a photo screening flags is refused to Alice in a sentence and never reaches Bob; after
the call both history pages show the photo. The
screenshots go to docs/screenshots/ (call-photo-*.png, linked from docs/api.md)."""

import json
import shutil
import threading
import time

import pytest
from django.db import connection
from playwright.sync_api import expect

from accounts.models import User
from accounts.services.sessions import start_session
from chat.models import CallPhoto
from chat.tasks import screen_call_photo
from tests.browser import ROOT
from tests.factories import UserFactory
from tests.screening_support import jpeg_of, orange_picture, picture

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_MS = 15_000
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def signed_in_page(browser, stack, user):
    token = start_session(user, ip="127.0.0.1")
    context = browser.new_context(viewport={"width": 900, "height": 900})
    context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(stack.url + "/")
    expect(page.locator("#conn-status")).to_contain_text("Online")
    return context, page


def wait_for_photo(count: int) -> list[CallPhoto]:
    deadline = time.monotonic() + WAIT_MS / 1000
    while CallPhoto.objects.count() < count:
        assert time.monotonic() < deadline, "the upload never committed"
        time.sleep(0.1)
    return list(CallPhoto.objects.order_by("created_at"))


def screen_as_the_worker(photo_id) -> str:
    """The screening task, run as the screening worker runs it: in a thread of its own (this
    thread has Playwright's event loop, on which the push after commit cannot be delivered)."""
    result = {}

    def run():
        try:
            result["status"] = screen_call_photo(str(photo_id))
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    return result.get("status")


def test_a_photo_in_a_text_call_reaches_the_partner_only_after_screening(
    live_stack, browser, screenshots, tmp_path, settings, marker_classifier
):
    settings.MEDIA_ROOT = tmp_path / "media"  # the server's too: the test runs the screening task on its files
    stack = live_stack("asgi")
    alice = UserFactory(name="Alice", access_status=User.AccessStatus.QR_VERIFIED)
    bob = UserFactory(name="Bob", access_status=User.AccessStatus.QR_VERIFIED)
    alice_context, alice_page = signed_in_page(browser, stack, alice)
    bob_context, bob_page = signed_in_page(browser, stack, bob)
    photo_file, flagged_file = tmp_path / "beach.jpg", tmp_path / "flagged.jpg"
    photo_file.write_bytes(jpeg_of(picture(11, size=(640, 480))))
    flagged_file.write_bytes(jpeg_of(orange_picture()))
    try:
        alice_page.select_option("#invite-mode", "text")
        expect(alice_page.locator("#reel-list li.person")).to_have_count(1)
        alice_page.locator("#reel-list li.person button.invite").first.click()
        bob_page.click("#incoming-accept")
        for page in (alice_page, bob_page):
            expect(page.locator("#room")).to_be_visible()

        # Alice sends a photo: she sees it as being checked; Bob sees nothing yet.
        alice_page.get_by_label("Send a photo").set_input_files(str(photo_file))
        expect(alice_page.locator("#messages .message.mine.pending img.photo.checking")).to_be_visible()
        expect(alice_page.locator("#room-note")).to_contain_text("being checked")
        (photo,) = wait_for_photo(1)
        screenshots(alice_page, "alice-photo-being-checked")
        shutil.copy(screenshots.taken[-1], DOCS_SCREENSHOTS / "call-photo-being-checked.png")
        bob_page.wait_for_timeout(500)
        expect(bob_page.locator("#messages .message")).to_have_count(0)

        # The screening worker passes it: both see it inline.
        assert screen_as_the_worker(photo.pk) == "passed"
        expect(bob_page.locator("#messages .message.theirs img.photo")).to_have_attribute("alt", "Photo from Alice")
        expect(alice_page.locator("#messages .message.mine img.photo")).to_have_attribute("alt", "Your photo")
        expect(alice_page.locator("#messages .message.pending")).to_have_count(0)
        natural = bob_page.locator("#messages img.photo").evaluate("(img) => img.naturalWidth")
        assert natural == 640
        screenshots(bob_page, "bob-sees-the-photo")
        shutil.copy(screenshots.taken[-1], DOCS_SCREENSHOTS / "call-photo-received.png")

        # A file that is not an image: the server's sentence, in the item and the status line.
        not_an_image = tmp_path / "notes.jpg"
        not_an_image.write_text("not a picture")
        alice_page.get_by_label("Send a photo").set_input_files(str(not_an_image))
        expect(alice_page.locator("#messages .message.failed .error")).to_have_text(
            "Photo not sent: That file is not an image we can read."
        )
        expect(alice_page.locator("#room-note")).to_have_text("That file is not an image we can read.")
        alice_page.evaluate("() => document.querySelector('#messages .message.failed').remove()")

        # A photo screening flags: Alice is told in a sentence, Bob never gets it.
        alice_page.wait_for_timeout(1600)
        alice_page.get_by_label("Send a photo").set_input_files(str(flagged_file))
        _, flagged = wait_for_photo(2)
        assert screen_as_the_worker(flagged.pk) == "hidden"
        expect(alice_page.locator("#messages .message.failed .error")).to_contain_text("not delivered")
        expect(alice_page.locator("#room-note")).to_contain_text("not delivered")
        screenshots(alice_page, "alice-photo-refused")
        shutil.copy(screenshots.taken[-1], DOCS_SCREENSHOTS / "call-photo-refused.png")
        bob_page.wait_for_timeout(500)
        expect(bob_page.locator("#messages .message")).to_have_count(1)

        # After the call, the history shows the photo to both (fetched with the token again).
        alice_page.click("#end-call")
        for page in (alice_page, bob_page):
            page.goto(stack.url + "/history")
            page.locator("#history-list details summary").click()
        expect(bob_page.locator("#history-list .message img.photo")).to_have_attribute("alt", "Photo from Alice")
        expect(alice_page.locator("#history-list .message img.photo")).to_have_attribute("alt", "Your photo")
        screenshots(bob_page, "bob-history-with-the-photo")
    finally:
        alice_context.close()
        bob_context.close()
