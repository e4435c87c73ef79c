"""The web client end to end in real Chromium against a real uvicorn (README "Try it").

Two people sign up with a poster (admin) invite code, verify their @usc.edu address with the
code from the server's email, see each other in the reel, call (text), chat, wait for the
timer to end the call, find it in their history, and are then hidden from each other's reel
(cooldown) while a third person still sees both. Screenshots of each step are saved under
artifacts/<test name>/."""

import functools
import json
import re
from pathlib import Path

from playwright.sync_api import expect

from accounts.models import User, UserLocation
from accounts.services.sessions import start_session
from chat import presence
from referrals.services import create_admin_invite_codes, ensure_user_invite_code
from tests.browser import fake_camera_pages, read_code, reel_card, wait_for_js
from tests.factories import ActiveRoomFactory, ChatHistoryFactory, ReferralNotificationFactory, UserFactory
from tests.media_samples import mp4, png

WAIT_MS = 15_000


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
        # The socket each has now (the page's shared one, static/rdv/live-worker.js), as the server sees it.
        people = list(User.objects.filter(name__in=["Alice", "Bob"]).values_list("pk", flat=True))
        sockets = presence.channels_of(people)
        assert sorted(len(channels) for channels in sockets.values()) == [1, 1]

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
        # One socket each from the reel to the end of the call: none was dropped on the way.
        assert presence.channels_of(people) == sockets

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


def signed_in_page(browser, user):
    """A browser context already holding a session token of `user` (as after sign-up)."""
    token = start_session(user, ip="127.0.0.1")
    context = browser.new_context()
    context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return context, page


def test_refusals_are_shown_as_plain_sentences(live_stack, browser, screenshots):
    """Requires an invite code, invalid code, rate limited (with the wait), banned, an invite
    that expires unanswered, declined: each is shown to the person in words."""
    stack = live_stack("asgi", extra_env={"RATE_SIGNUP": "2/h"})
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    contexts = [context]
    try:
        page.goto(stack.url + "/")
        page.fill("#signup-name", "Dana")
        page.select_option("#signup-gender", "female")
        page.check("#signup-terms")
        page.click("#signup-submit")
        expect(page.locator("#flash")).to_contain_text("You need an invite code to sign up")
        page.fill("#signup-invite", "NOTAREALCODE0000")
        page.click("#signup-submit")
        expect(page.locator("#flash")).to_contain_text("That invite code is not valid.")
        page.click("#signup-submit")
        expect(page.locator("#flash")).to_contain_text(re.compile(r"Too many attempts\. Please wait (1 h|\d+ min)"))
        expect(page.locator("#signup-form .form-error")).to_be_visible()
        screenshots(page, "rate-limited")

        # The error texts of the WebSocket refusals a race can produce.
        texts = page.evaluate(
            "['on_cooldown', 'invite_expired', 'busy', 'banned'].map((code) => RDV.friendly({code, extra: {}}))"
        )
        assert texts[0].startswith("You two met or passed recently")
        assert texts[1].startswith("That invite expired")
        assert texts[2] == "They are in another call right now."
        assert texts[3].startswith("Your account is banned")

        # An invite nobody answers expires after 20 s on both screens; a decline is announced.
        alice_context, alice_page = signed_in_page(browser, alice)
        bob_context, bob_page = signed_in_page(browser, bob)
        contexts += [alice_context, bob_context]
        alice_page.goto(stack.url + "/")
        bob_page.goto(stack.url + "/")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        expect(bob_page.locator("#incoming")).to_be_visible()
        expect(bob_page.locator("#incoming")).to_be_hidden(timeout=30_000)
        expect(bob_page.locator("#flash")).to_contain_text("expired")
        expect(alice_page.locator("#flash")).to_contain_text("Bob did not answer in time: the invite expired.")
        expect(alice_page.locator("#outgoing")).to_be_hidden()
        screenshots(alice_page, "invite-expired")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        bob_page.click("#incoming-decline")
        expect(alice_page.locator("#flash")).to_contain_text("Bob declined your invite.")
        expect(reel_card(alice_page, "Bob")).to_have_count(0)  # declined: 24-hour cooldown

        # A banned person sees their ban, not the reel.
        User.objects.filter(pk=bob.pk).update(ban_status=User.BanStatus.TEMPORARY)
        bob_page.goto(stack.url + "/")
        expect(bob_page.locator("#banned")).to_be_visible()
        expect(bob_page.locator("#banned-text")).to_contain_text("temporary")
        expect(bob_page.locator("#reel")).to_be_hidden()
        screenshots(bob_page, "banned")
    finally:
        for each in contexts:
            each.close()


def test_settings_history_and_uploads_work_in_the_browser(live_stack, browser, screenshots, tmp_path):
    """Invite code with its QR and link, introductions to me, profile with socials and
    Instagram posts (and a refused handle), location consent on and off, selfie and video
    uploads shown in another person's reel, email + password (permanent account), an
    introduction link from the history page, reporting a profile from the reel."""
    alice = UserFactory(name="Alice", access_status=User.AccessStatus.QR_VERIFIED)
    bob = UserFactory(name="Bob")
    code = ensure_user_invite_code(alice).code
    ReferralNotificationFactory(for_user=alice, referred_name="Zoe", introduced_by_name="Carl")
    ChatHistoryFactory(room=ActiveRoomFactory(user_1=alice, user_2=bob, ended=True), user=alice, partner=bob)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    stack = live_stack("asgi", extra_env={"EMAIL_URL": f"filemail:///{mail_dir}"})
    token = start_session(alice, ip="127.0.0.1")
    context = browser.new_context(
        geolocation={"latitude": 34.0224, "longitude": -118.2851}, permissions=["geolocation"]
    )
    context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    contexts = [context]
    try:
        page.goto(stack.url + "/settings")
        expect(page.locator("#invite-code")).to_have_text(code)
        expect(page.locator("#invite-link")).to_contain_text(f"/?invite={code}")
        wait_for_js(page, "document.getElementById('invite-qr').naturalWidth > 100")
        expect(page.locator("#introduction-list li")).to_contain_text(["Zoe, introduced by Carl"])

        page.fill("input.social[data-network=x]", "not a handle!!")
        page.click("#profile-save")
        expect(page.locator("#profile-form .form-error")).to_contain_text("X: Not a valid handle")
        page.fill("input.social[data-network=x]", "")
        page.fill("input.social[data-network=instagram]", "alice.usc")
        page.fill("#profile-instagram", "https://www.instagram.com/p/Cabc123/")
        page.click("#profile-save")
        expect(page.locator("#flash")).to_have_text("Profile saved.")
        alice.refresh_from_db()
        assert alice.socials == {"instagram": "alice.usc"}
        assert alice.instagram_posts == ["https://www.instagram.com/p/Cabc123/"]

        page.click("#location-share")
        expect(page.locator("#location-status")).to_contain_text("You share your location (until")
        assert UserLocation.objects.filter(user=alice).exists()
        page.click("#location-stop")
        expect(page.locator("#location-status")).to_contain_text("It was deleted.")
        assert not UserLocation.objects.filter(user=alice).exists()

        page.set_input_files("#selfie-file", files=[{"name": "me.png", "mimeType": "image/png", "buffer": png()}])
        page.click("#selfie-form button")
        wait_for_js(page, "document.getElementById('selfie-preview').naturalWidth > 0")
        page.set_input_files("#video-file", files=[{"name": "me.mp4", "mimeType": "video/mp4", "buffer": mp4()}])
        page.click("#video-form button")
        expect(page.locator("#video-preview")).to_be_visible()
        alice.refresh_from_db()
        assert alice.selfie and alice.video
        screenshots(page, "settings")

        # A guest adds an email address, then makes the account permanent.
        page.fill("#settings-email", "alice@usc.edu")
        page.click("#settings-email-send")
        page.fill("#settings-code", read_code(mail_dir, "alice@usc.edu"))
        page.click("#settings-code-submit")
        expect(page.locator("#permanent-form")).to_be_visible()
        expect(page.locator("#email-box")).to_be_hidden()
        page.fill("#permanent-password", "a long passphrase 42")
        page.click("#permanent-form button")
        expect(page.locator("#account-status")).to_contain_text("Permanent account · alice@usc.edu")
        alice.refresh_from_db()
        assert alice.account_type == User.AccountType.PERMANENT

        page.click("#nav-history")
        page.locator("button.introduce").click()
        link = page.locator(".introduction-link")
        expect(link).to_contain_text("/?ref=")
        introduction_url = link.inner_text()
        screenshots(page, "history-introduction")

        # Bob's reel shows Alice's selfie and video (with Alice online on the reel).
        page.goto(stack.url + "/")
        expect(page.locator("#conn-status")).to_contain_text("Online")
        bob_context, bob_page = signed_in_page(browser, bob)
        contexts.append(bob_context)
        bob_page.goto(stack.url + "/")
        card = reel_card(bob_page, "Alice")
        expect(card.locator("img.avatar")).to_be_visible()
        wait_for_js(bob_page, "document.querySelector('#reel-list img.avatar').naturalWidth > 0")
        expect(card.locator("video.intro")).to_have_count(1)
        screenshots(bob_page, "reel-with-selfie")
        card.locator("button.report-profile").click()
        bob_page.fill("#profile-report-text", "Not a selfie.")
        bob_page.click("#profile-report-submit")
        expect(bob_page.locator("#flash")).to_contain_text("Your report about Alice's profile was sent")

        # The introduction link opens the sign-up page with the introduction noted.
        newcomer = browser.new_context()
        contexts.append(newcomer)
        visitor = newcomer.new_page()
        visitor.goto(stack.url + "/?" + introduction_url.split("?", 1)[1])  # SITE_URL is :8000
        expect(visitor.locator("#signup-referral-note")).to_be_visible()
        assert visitor.locator("#signup-referral").input_value() == introduction_url.rsplit("=", 1)[1]
    finally:
        for each in contexts:
            each.close()


def test_a_video_call_connects_the_cameras_and_either_side_can_end_it(live_stack, browser, screenshots):
    """Chromium's fake camera on both sides: the WebRTC offer/answer/ICE go through the
    rtc.* relay and each side plays the other's stream; End call ends it for both; the
    report form answers in words."""
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    stack = live_stack("asgi")
    cameras, pages = fake_camera_pages(browser, (alice, bob), stack.url + "/", timeout_ms=WAIT_MS)
    try:
        alice_page, bob_page = pages["Alice"], pages["Bob"]
        alice_page.select_option("#invite-mode", "video")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        expect(bob_page.locator("#incoming-mode")).to_have_text("video")
        bob_page.click("#incoming-accept")
        for page in (alice_page, bob_page):
            expect(page.locator("#room-mode")).to_have_text("Video")
            expect(page.locator("#video-area")).to_be_visible()
            wait_for_js(page, "document.getElementById('remote-video').videoWidth > 0", timeout=30_000)
        screenshots(alice_page, "video-call")
        gif = "https://media.giphy.com/media/xT9IgG50Fb7Mi0prBC/giphy.gif"
        alice_page.fill("#message-text", gif)
        alice_page.click("#message-send")
        expect(bob_page.locator("#messages .message.theirs img.gif")).to_have_attribute("src", gif)
        bob_page.set_viewport_size({"width": 390, "height": 844})  # a phone
        screenshots(bob_page, "video-call-phone")

        bob_page.click("#end-call")
        for page in (alice_page, bob_page):
            expect(page.locator("#ended")).to_have_attribute("data-reason", "user_ended")
            expect(page.locator("#video-area")).to_be_hidden()

        alice_page.locator("#report summary").click()
        alice_page.select_option("#report-category", "spam")
        alice_page.fill("#report-text", "Kept sending links.")
        alice_page.click("#report-submit")
        thanks = "Thank you. Your report about Bob was sent to the moderators."
        expect(alice_page.locator("#flash")).to_contain_text(thanks)
    finally:
        cameras.close()
