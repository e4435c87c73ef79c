"""End to end in a real browser (Playwright driving Debian's Chromium) against a real uvicorn
on the test database: a moderator logs in, opens the review queue, bans a user permanently and
finds the user's session addresses under IP bans. Screenshots: artifacts/<test name>/."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import User
from moderation import services
from moderation.models import IPBan
from moderation.roles import ensure_moderators_group
from tests import media_samples
from tests.api_support import PASSWORD
from tests.factories import ActiveRoomFactory, AuthSessionFactory, TextChatMessageFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("count_each_report")]


def make_moderator() -> User:
    user = UserFactory(staff=True, name="Morgan Moderator", email="morgan@usc.edu")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(ensure_moderators_group())
    return user


def temporarily_banned_user() -> User:
    user = UserFactory(name="Mallory Troll")
    user.selfie.name = default_storage.save("selfies/mallory.jpg", ContentFile(media_samples.jpeg((240, 240))))
    user.video.name = default_storage.save("videos/mallory.mp4", ContentFile(media_samples.mp4(seconds=5)))
    user.save(update_fields=["selfie", "video"])
    AuthSessionFactory(user=user, ip="203.0.113.77")
    AuthSessionFactory(user=user, ip="203.0.113.78", is_active=False)
    for i in range(4):
        reporter = UserFactory(name=f"Reporter {i}")
        room = ActiveRoomFactory(user_1=reporter, user_2=user, ended=True)
        TextChatMessageFactory(room=room, sender=user, receiver=reporter, content=f"abusive message {i}")
        services.submit_report(
            reporter, reported_id=user.pk, category="harassment", text=f"said awful things ({i})", ip=f"198.51.100.{i}"
        )
    user.refresh_from_db()
    assert user.ban_status == User.BanStatus.TEMPORARY
    return user


def test_moderator_bans_from_the_review_queue_and_sees_the_ip_bans(
    live_stack, browser, screenshots, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"  # the server below shares it
    make_moderator()
    troll = temporarily_banned_user()
    stack = live_stack("asgi", extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(f"{stack.url}/admin/login/")
    page.fill("input[name=username]", "morgan@usc.edu")
    page.fill("input[name=password]", PASSWORD)
    screenshots(page, "login")
    page.click("input[type=submit]")
    page.wait_for_selector("#moderation-console")
    screenshots(page, "admin-index")

    page.click("text=Review queue")
    item = page.locator(f"#ban-{troll.pk}")
    item.wait_for()
    assert "said awful things (0)" in item.inner_text()
    assert "abusive message 3" in item.inner_text()
    selfie = item.locator("img[alt=selfie]").first
    selfie.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=selfie.element_handle())
    assert item.locator("video").count() == 4
    screenshots(page, "review-queue")

    item.locator("input[name=reason]").fill("confirmed harassment")
    item.locator("input[name=ban-permanently]").click()
    page.wait_for_selector("text=Banned permanently")
    assert page.locator("#queue-empty").is_visible()
    screenshots(page, "after-ban")

    page.goto(f"{stack.url}/admin/moderation/ipban/")
    listing = page.locator("#result_list")
    listing.wait_for()
    text = listing.inner_text()
    assert "203.0.113.77" in text and "203.0.113.78" in text
    screenshots(page, "ip-bans")

    page.goto(f"{stack.url}/admin/moderation/report/dashboard/")
    page.wait_for_selector("#per-day")
    assert page.locator("#pending-reviews").inner_text() == "0"
    assert page.locator("#per-day tbody tr").last.locator(".reports").inner_text() == "4"
    screenshots(page, "dashboard")

    page.goto(f"{stack.url}/admin/referrals/invitecode/add/")
    page.fill("input[name=count]", "3")
    page.fill("input[name=max_uses]", "100")
    page.click("input[type=submit]")
    page.wait_for_selector("#new-codes")
    assert page.locator("#new-codes img").count() == 3
    screenshots(page, "admin-codes")
    page.close()

    troll.refresh_from_db()
    assert troll.ban_status == User.BanStatus.PERMANENT
    assert set(IPBan.objects.values_list("ip", flat=True)) == {"203.0.113.77", "203.0.113.78"}
    assert len(screenshots.taken) == 7
