"""Introductions: POST /api/referrals makes a 10-char link for a target user; a
newcomer who signs up with it gives the target a referral_notifications row and, after
commit, a realtime `referral.notification`; GET /api/referrals/notifications and
POST /api/referrals/notifications/read work on the caller's own notifications only."""

import asyncio
import re
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from referrals.models import InviteCodeUse, ReferralMapping, ReferralNotification
from tests.api_support import signed_in
from tests.factories import (
    InviteCodeFactory,
    ReferralMappingFactory,
    ReferralNotificationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REFERRALS_URL = "/api/referrals"
NOTIFICATIONS_URL = "/api/referrals/notifications"
READ_URL = "/api/referrals/notifications/read"
SIGNUP_URL = "/api/auth/signup"
REFERRAL_CODE_RE = re.compile(r"^[A-Za-z0-9]{10}$")


def error_code(response) -> str:
    return response.json()["error"]["code"]


def signup_with(referral_code: str, invite_code: str, name: str = "Newt"):
    payload = {
        "name": name,
        "gender": "male",
        "terms_accepted": True,
        "invite_code": invite_code,
        "referral_code": referral_code,
    }
    return APIClient().post(SIGNUP_URL, payload, format="json")


async def receive_within(layer, channel: str, seconds: float = 5.0) -> dict:
    return await asyncio.wait_for(layer.receive(channel), seconds)


def notifications_for(user: User, count: int, start=None) -> list[ReferralNotification]:
    """`count` notifications for `user`, one minute apart, oldest first."""
    start = start or timezone.now() - timedelta(days=1)
    return [
        ReferralNotificationFactory(for_user=user, created_at=start + timedelta(minutes=index))
        for index in range(count)
    ]


@pytest.fixture
def invite_code(db):
    return InviteCodeFactory()


@pytest.fixture
def mapping(alice, bob):
    """Bob's introduction link for Alice."""
    return ReferralMappingFactory(target_user=alice, created_by_user=bob)


# --- POST /api/referrals ---------------------------------------------------------------------


def test_create_referral_gives_a_10_char_code_for_the_target(alice, bob):
    response = signed_in(bob).post(REFERRALS_URL, {"target_user_id": str(alice.pk)}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert REFERRAL_CODE_RE.fullmatch(body["referral_code"])
    assert body["target_user_id"] == str(alice.pk)
    assert "target_name" not in body  # an id is no way to look a name up
    assert body["signup_url"].endswith(f"?ref={body['referral_code']}")
    mapping = ReferralMapping.objects.get(pk=body["referral_code"])
    assert mapping.target_user_id == alice.pk
    assert mapping.created_by_user_id == bob.pk
    assert (mapping.target_name, mapping.created_by_name) == ("Alice", "Bob")


def test_create_referral_for_unknown_target_is_404(bob):
    response = signed_in(bob).post(REFERRALS_URL, {"target_user_id": str(uuid.uuid4())}, format="json")

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert not ReferralMapping.objects.exists()


def test_create_referral_for_banned_target_is_404(bob):
    banned = UserFactory(ban_status=User.BanStatus.TEMPORARY)

    response = signed_in(bob).post(REFERRALS_URL, {"target_user_id": str(banned.pk)}, format="json")

    assert response.status_code == 404
    assert not ReferralMapping.objects.exists()


def test_create_referral_with_malformed_target_is_400(bob):
    response = signed_in(bob).post(REFERRALS_URL, {"target_user_id": "not-a-uuid"}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["fields"]["target_user_id"]
    assert not ReferralMapping.objects.exists()


def test_create_referral_by_stranger_without_access_is_403_no_access(alice, stranger):
    stranger.access_status = User.AccessStatus.UNPAID
    stranger.save()

    response = signed_in(stranger).post(REFERRALS_URL, {"target_user_id": str(alice.pk)}, format="json")

    assert response.status_code == 403
    assert error_code(response) == "no_access"
    assert not ReferralMapping.objects.exists()


def test_create_referral_by_banned_user_is_403_banned(alice, stranger):
    stranger.ban_status = User.BanStatus.TEMPORARY
    stranger.save()

    response = signed_in(stranger).post(REFERRALS_URL, {"target_user_id": str(alice.pk)}, format="json")

    assert response.status_code == 403
    assert error_code(response) == "banned"
    assert not ReferralMapping.objects.exists()


def test_create_referral_unauthenticated_is_401(alice):
    response = APIClient().post(REFERRALS_URL, {"target_user_id": str(alice.pk)}, format="json")

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    assert not ReferralMapping.objects.exists()


# --- signing up through an introduction link --------------------------------------------------


def test_signup_with_referral_code_creates_notification_for_target(alice, bob, mapping, invite_code):
    response = signup_with(mapping.referral_code, invite_code.code)

    assert response.status_code == 201, response.json()
    newcomer = User.objects.get(pk=response.json()["user"]["id"])
    notification = ReferralNotification.objects.get()
    assert notification.for_user_id == alice.pk
    assert notification.referred_user_id == newcomer.pk
    assert notification.introduced_by_id == bob.pk
    assert notification.referred_name == "Newt"
    assert notification.introduced_by_name == "Bob"
    assert notification.read is False


def test_signup_with_referral_code_sends_referral_notification_to_target_after_commit(
    alice, bob, mapping, invite_code, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{alice.pk}", channel)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signup_with(mapping.referral_code, invite_code.code)

    assert response.status_code == 201, response.json()
    assert len(callbacks) == 1
    message = async_to_sync(receive_within)(layer, channel)
    assert message["type"] == "push"
    event = message["event"]
    assert event["type"] == "referral.notification"
    notification = ReferralNotification.objects.get()
    assert event["id"] == notification.pk
    assert event["referred_user_id"] == response.json()["user"]["id"]
    assert event["referred_name"] == "Newt"
    assert event["introduced_by_id"] == str(bob.pk)
    assert event["introduced_by_name"] == "Bob"
    assert event["read"] is False


def test_referral_notification_is_not_sent_before_commit(mapping, invite_code, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{mapping.target_user_id}", channel)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signup_with(mapping.referral_code, invite_code.code)

    assert response.status_code == 201
    assert len(callbacks) == 1  # queued for commit, not sent
    with pytest.raises(TimeoutError):
        async_to_sync(receive_within)(layer, channel, 0.5)


def test_signup_with_unknown_referral_code_is_400_and_creates_nothing(
    alice, invite_code, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signup_with("ZZZZZZZZZZ", invite_code.code)

    assert response.status_code == 400
    assert error_code(response) == "invalid_referral_code"
    assert response.json()["error"]["fields"]["referral_code"]
    assert not User.objects.filter(name="Newt").exists()
    assert not ReferralNotification.objects.exists()
    assert not InviteCodeUse.objects.exists()
    assert callbacks == []


def test_referral_code_alone_does_not_open_signup(mapping):
    response = APIClient().post(
        SIGNUP_URL,
        {"name": "Newt", "gender": "male", "terms_accepted": True, "referral_code": mapping.referral_code},
        format="json",
    )

    assert response.status_code == 403
    assert error_code(response) == "requires_invite_code"
    assert not ReferralNotification.objects.exists()


# --- GET /api/referrals/notifications ----------------------------------------------------------


def test_notifications_list_shows_only_mine_newest_first(alice, bob):
    mine = notifications_for(alice, 3)
    notifications_for(bob, 2)

    response = signed_in(alice).get(NOTIFICATIONS_URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["id"] for row in results] == [n.pk for n in reversed(mine)]
    first = results[0]
    assert first["referred_user_id"] == str(mine[-1].referred_user_id)
    assert first["referred_name"] == mine[-1].referred_name
    assert first["read"] is False


def test_notifications_list_is_cursor_paginated(alice):
    mine = notifications_for(alice, 25)
    client = signed_in(alice)

    first = client.get(NOTIFICATIONS_URL, {"page_size": 10}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    assert "cursor=" in first["next"]
    assert first["previous"] is None
    assert "count" not in first  # cursor pagination, no COUNT(*)
    ids = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert ids == [n.pk for n in reversed(mine)]
    assert [len(page["results"]) for page in (first, second, third)] == [10, 10, 5]
    assert third["next"] is None


def test_notifications_list_uses_a_bounded_number_of_queries(alice, django_assert_max_num_queries):
    client = signed_in(alice)
    notifications_for(alice, 3)
    with django_assert_max_num_queries(3):
        small = client.get(NOTIFICATIONS_URL)

    notifications_for(alice, 40, start=timezone.now() - timedelta(days=3))
    with django_assert_max_num_queries(3):
        large = client.get(NOTIFICATIONS_URL, {"page_size": 40})

    assert len(small.json()["results"]) == 3
    assert len(large.json()["results"]) == 40


def test_stranger_sees_none_of_alices_notifications(alice, stranger):
    notifications_for(alice, 2)

    response = signed_in(stranger).get(NOTIFICATIONS_URL)

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_notifications_list_unauthenticated_is_401(alice):
    notifications_for(alice, 2)

    response = APIClient().get(NOTIFICATIONS_URL)

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


# --- POST /api/referrals/notifications/read ---------------------------------------------------


def test_mark_read_without_ids_marks_all_of_mine_and_none_of_others(alice, bob):
    mine = notifications_for(alice, 3)
    bobs = notifications_for(bob, 2)

    response = signed_in(alice).post(READ_URL, {}, format="json")

    assert response.status_code == 200
    assert response.json() == {"updated": 3}
    for notification in mine + bobs:
        notification.refresh_from_db()
    assert all(n.read for n in mine)
    assert not any(n.read for n in bobs)


def test_mark_read_with_ids_marks_only_those(alice):
    mine = notifications_for(alice, 3)

    response = signed_in(alice).post(READ_URL, {"ids": [mine[0].pk, mine[2].pk]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    for notification in mine:
        notification.refresh_from_db()
    assert [n.read for n in mine] == [True, False, True]


def test_mark_read_never_touches_another_users_notifications(alice, stranger):
    alices = notifications_for(alice, 2)

    response = signed_in(stranger).post(READ_URL, {"ids": [n.pk for n in alices]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"updated": 0}
    for notification in alices:
        notification.refresh_from_db()
        assert notification.read is False


def test_mark_read_with_bad_ids_is_400(alice):
    mine = notifications_for(alice, 1)

    response = signed_in(alice).post(READ_URL, {"ids": ["x"]}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert "ids" in response.json()["error"]["fields"]
    mine[0].refresh_from_db()
    assert mine[0].read is False


def test_mark_read_unauthenticated_is_401(alice):
    alices = notifications_for(alice, 1)

    response = APIClient().post(READ_URL, {}, format="json")

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"
    alices[0].refresh_from_db()
    assert alices[0].read is False
