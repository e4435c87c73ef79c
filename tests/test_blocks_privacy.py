"""What a block must also stop (issue 23): answers stored before it never make a match after an
unblock; neither side can introduce, be introduced to, or learn anything new about the other."""

import uuid

import pytest

from chat.models import Match, MeetAgainAnswer
from chat.services.blocks import block_user, unblock_user
from moderation.models import AuditLog
from referrals.models import ReferralMapping, ReferralNotification
from tests.api_support import signed_in
from tests.factories import InviteCodeFactory, ReferralMappingFactory
from tests.test_matches import ended_call, pair_match, put
from tests.test_referrals import signup_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- meet-again answers -------------------------------------------------------------------------


def test_a_block_clears_the_pairs_meet_again_answers_so_an_unblock_brings_no_match_back(alice, bob):
    room = ended_call(alice, bob)
    assert put(signed_in(alice), room, "yes").status_code == 200

    block_user(alice, bob.pk)
    assert not MeetAgainAnswer.objects.filter(room=room).exists()
    unblock_user(alice, bob.pk)
    answer = put(signed_in(bob), room, "yes")

    assert answer.status_code == 200, answer.content
    assert answer.json()["match"] is None
    assert pair_match(alice, bob) is None and not Match.objects.exists()
    # Alice's own new yes, within the window, can still make it.
    again = put(signed_in(alice), room, "yes")
    assert again.json()["match"] is not None


# --- a budget for toggling ----------------------------------------------------------------------


def test_blocking_and_unblocking_share_one_hourly_budget_and_the_excess_writes_nothing(alice, bob, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "block": "6/h"}
    client = signed_in(alice)
    answers = []
    for _ in range(4):
        answers.append(client.post("/api/blocks", {"user_id": str(bob.pk)}, format="json").status_code)
        answers.append(client.delete(f"/api/blocks/{bob.pk}").status_code)

    assert answers == [201, 204] * 3 + [429, 429]
    refused = client.post("/api/blocks", {"user_id": str(bob.pk)}, format="json")
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused["Retry-After"]) > 0
    assert AuditLog.objects.filter(event_type__in=["user.blocked", "user.unblocked"]).count() == 6
    assert signed_in(alice).get("/api/blocks").status_code == 200  # reading my list is not counted


# --- introductions and what a block answer tells ------------------------------------------------


@pytest.mark.parametrize("direction", ["introducer_blocked_target", "target_blocked_introducer"])
def test_after_a_block_neither_can_make_an_introduction_link_naming_the_other_same_404_as_unknown(
    alice, bob, direction
):
    if direction == "target_blocked_introducer":
        block_user(alice, bob.pk)
    else:
        block_user(bob, alice.pk)
    client = signed_in(bob)

    barred = client.post("/api/referrals", {"target_user_id": str(alice.pk)}, format="json")
    unknown = client.post("/api/referrals", {"target_user_id": str(uuid.uuid4())}, format="json")

    assert barred.status_code == unknown.status_code == 404
    assert barred.json() == unknown.json()
    assert "Alice" not in barred.content.decode()
    assert not ReferralMapping.objects.exists()


def test_a_link_made_before_the_block_introduces_nobody_and_the_blocker_is_not_told(
    alice, bob, inbox, django_capture_on_commit_callbacks
):
    mapping = ReferralMappingFactory(target_user=alice, created_by_user=bob)  # Bob's link naming Alice
    block_user(alice, bob.pk)
    box = inbox(alice)

    with django_capture_on_commit_callbacks(execute=True):
        dead = signup_with(mapping.referral_code, InviteCodeFactory().code)
        unknown = signup_with("ZZZZZZZZZZ", InviteCodeFactory().code, name="Other")

    assert dead.status_code == unknown.status_code == 400
    assert dead.json() == unknown.json()
    assert not ReferralNotification.objects.exists()
    assert [e for e in box.drain()[alice.pk] if e["type"] == "referral.notification"] == []


def test_referral_answers_carry_no_name(alice, bob):
    made = signed_in(bob).post("/api/referrals", {"target_user_id": str(alice.pk)}, format="json")
    assert made.status_code == 201
    assert "Alice" not in made.content.decode() and "target_name" not in made.json()


def test_blocking_back_tells_nothing_newer_than_the_first_block(alice, bob, media_root):
    bob.selfie = "selfies/old.jpg"
    bob.save(update_fields=["selfie"])
    block_user(bob, alice.pk)  # Bob blocks Alice while still called "Bob"
    bob.name, bob.selfie, bob.video = "Robert", "selfies/new.jpg", "videos/new.mp4"
    bob.save(update_fields=["name", "selfie", "video"])

    answer = signed_in(alice).post("/api/blocks", {"user_id": str(bob.pk)}, format="json")
    listed = signed_in(alice).get("/api/blocks").json()["results"]

    assert answer.status_code == 201, answer.content
    assert answer.json()["user"] == {"id": str(bob.pk), "name": "Bob"}
    assert listed[0]["user"] == {"id": str(bob.pk), "name": "Bob"}
    for body in (answer.content.decode(), str(listed)):
        assert "Robert" not in body and "new.jpg" not in body and "new.mp4" not in body


def test_a_first_block_keeps_the_name_of_the_time(alice, bob):
    block_user(alice, bob.pk)
    bob.name = "Robert"
    bob.save(update_fields=["name"])
    assert signed_in(alice).get("/api/blocks").json()["results"][0]["user"]["name"] == "Bob"
