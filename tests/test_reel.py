"""GET /api/reel: who I can invite right now. Online and available (for the
mode), not me, not banned, with access, not in a live room, not on cooldown with me, not
someone I reported; introduced users first; cursor pages; one query whatever the number of
online users; with ?near= a consented, unexpired location and distance buckets only."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from chat import presence
from tests.chat_support import go_online, signed_in
from tests.factories import (
    ActiveRoomFactory,
    CooldownFactory,
    ReferralNotificationFactory,
    ReportFactory,
    UserFactory,
    UserLocationFactory,
)

pytestmark = pytest.mark.django_db

REEL = "/api/reel"
CARD_FIELDS = {"id", "name", "gender", "selfie_url", "video_url", "introduced"}


def reel(client, **params) -> dict:
    response = client.get(REEL, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(body) -> list[str]:
    return [card["id"] for card in body["results"]]


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


@pytest.fixture
def viewer(alice):
    go_online(alice)
    return alice


@pytest.fixture
def client(viewer):
    return signed_in(viewer)


# --- who is shown -----------------------------------------------------------------------------


def test_reel_shows_online_available_users_but_not_me(viewer, client, bob):
    charlie, offline, unavailable = UserFactory(name="Charlie"), UserFactory(), UserFactory()
    go_online(bob, charlie, unavailable)
    presence.set_available(unavailable.pk, False)

    body = reel(client)

    assert sorted(ids(body)) == sorted([str(bob.pk), str(charlie.pk)])
    assert str(offline.pk) not in ids(body)
    assert body["next"] is None
    card = next(card for card in body["results"] if card["id"] == str(bob.pk))
    assert set(card) == CARD_FIELDS
    assert (card["name"], card["introduced"], card["selfie_url"]) == ("Bob", False, None)


def test_reel_with_a_mode_shows_only_users_available_for_that_mode(viewer, client, bob):
    charlie = UserFactory()
    go_online(bob, modes=("video",))
    go_online(charlie, modes=("text",))

    assert ids(reel(client, mode="video")) == [str(bob.pk)]
    assert ids(reel(client, mode="text")) == [str(charlie.pk)]
    assert sorted(ids(reel(client))) == sorted([str(bob.pk), str(charlie.pk)])
    assert_refused(client.get(REEL, {"mode": "audio"}), 400, "invalid")


def test_reel_hides_users_whose_sockets_lapsed(viewer, client, bob, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    go_online(bob)
    time_machine.shift(timedelta(seconds=61))  # no heartbeat for longer than the 60 s TTL
    go_online(viewer)

    assert ids(reel(client)) == []


@pytest.mark.parametrize(
    ("ban_status", "shown"),
    [("temporary", False), ("permanent", False), ("vindicated", True), ("none", True)],
)
def test_reel_hides_banned_users(viewer, client, bob, ban_status, shown):
    User.objects.filter(pk=bob.pk).update(ban_status=ban_status)
    go_online(bob)

    assert (str(bob.pk) in ids(reel(client))) is shown


def test_reel_hides_users_without_access(viewer, client, bob):
    paid = UserFactory(access_status=User.AccessStatus.PAID)
    User.objects.filter(pk=bob.pk).update(access_status=User.AccessStatus.UNPAID)
    go_online(bob, paid)

    assert ids(reel(client)) == [str(paid.pk)]


def test_reel_hides_users_in_a_live_room_but_not_after_it_ended(viewer, client, bob, stranger):
    charlie = UserFactory()
    go_online(bob, stranger, charlie)
    ActiveRoomFactory(user_1=bob, user_2=stranger)
    ActiveRoomFactory(user_1=charlie, user_2=UserFactory(), ended=True)

    assert ids(reel(client)) == [str(charlie.pk)]


def test_reel_hides_users_on_cooldown_with_me_in_either_order(viewer, client):
    above = below = None
    while above is None or below is None:  # one user sorting after me, one before me
        user = UserFactory()
        if user.pk > viewer.pk:
            above = above or user
        else:
            below = below or user
    expired, unrelated = UserFactory(), UserFactory()
    go_online(above, below, expired, unrelated)
    CooldownFactory(user_low=viewer, user_high=above)  # I am user_low
    CooldownFactory(user_low=below, user_high=viewer)  # I am user_high
    CooldownFactory(
        user_low=viewer,
        user_high=expired,
        created_at=timezone.now() - timedelta(hours=24),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    CooldownFactory(user_low=unrelated, user_high=above)  # not my cooldown

    assert sorted(ids(reel(client))) == sorted([str(expired.pk), str(unrelated.pk)])


def test_reel_hides_someone_i_reported(viewer, client, bob, stranger):
    go_online(bob, stranger)
    ReportFactory(reporter=viewer, reported=bob)
    ReportFactory(reporter=UserFactory(), reported=stranger)  # someone else's report: no effect here

    assert ids(reel(client)) == [str(stranger.pk)]


def test_introduced_users_come_first_whichever_side_was_introduced(viewer, client):
    plain = [UserFactory() for _ in range(3)]
    introduced_to_me = UserFactory()
    i_was_introduced_to = UserFactory()
    go_online(*plain, introduced_to_me, i_was_introduced_to)
    ReferralNotificationFactory(referred_user=viewer, for_user=introduced_to_me)
    ReferralNotificationFactory(for_user=viewer, referred_user=i_was_introduced_to)
    ReferralNotificationFactory(for_user=plain[0], referred_user=plain[1])  # not about me

    body = reel(client)

    first_two = sorted([str(introduced_to_me.pk), str(i_was_introduced_to.pk)])
    assert ids(body)[:2] == first_two
    assert ids(body)[2:] == sorted(str(user.pk) for user in plain)
    assert [card["introduced"] for card in body["results"]] == [True, True, False, False, False]


# --- pages ------------------------------------------------------------------------------------


def test_pages_of_2_follow_next_and_cover_everyone_exactly_once(viewer, client):
    users = [UserFactory() for _ in range(7)]
    go_online(*users)
    for user in users[4:6]:
        ReferralNotificationFactory(referred_user=viewer, for_user=user)

    seen, cursor, pages = [], None, 0
    while True:
        body = reel(client, page_size=2, **({"cursor": cursor} if cursor else {}))
        pages += 1
        assert len(body["results"]) <= 2
        seen += body["results"]
        cursor = body["next"]
        if cursor is None:
            break
        assert pages < 10

    assert pages == 4
    assert sorted(card["id"] for card in seen) == sorted(str(user.pk) for user in users)
    assert len({card["id"] for card in seen}) == 7
    assert [card["introduced"] for card in seen] == [True, True, False, False, False, False, False]


def test_a_bad_cursor_is_400(viewer, client, bob):
    go_online(bob)

    assert_refused(client.get(REEL, {"cursor": "not a cursor!"}), 400, "invalid")
    assert_refused(client.get(REEL, {"cursor": base64.urlsafe_b64encode(b"[1, 2, 3]").decode()}), 400, "invalid")


def test_a_well_formed_cursor_with_a_bad_user_id_is_400(viewer, client, bob):
    go_online(bob)
    forged = base64.urlsafe_b64encode(json.dumps([True, "not-a-uuid"]).encode()).decode()

    assert_refused(client.get(REEL, {"cursor": forged}), 400, "invalid")


@pytest.mark.parametrize("online", [3, 30])
def test_reel_query_count_does_not_grow_with_online_users(viewer, client, online, django_assert_max_num_queries):
    users = [UserFactory() for _ in range(online)]
    go_online(*users)
    for user in users[:2]:
        ReferralNotificationFactory(referred_user=viewer, for_user=user)
    ActiveRoomFactory(user_1=users[-1], user_2=UserFactory())
    CooldownFactory(user_low=viewer, user_high=users[-2])

    reel(client)  # the event-mode settings snapshot is cached from the first request on (Redis)
    # Authentication (session with its user and the IP-ban check, one statement) and the reel
    # itself, one query.
    with django_assert_max_num_queries(2) as captured:
        body = reel(client, page_size=50)

    assert len(body["results"]) == online - 2
    assert len(captured) == 2


# --- distance ---------------------------------------------------------------------------------


HOME = ("34.000", "-118.000")


def located(user, latitude, longitude="-118.000", **kwargs):
    User.objects.filter(pk=user.pk).update(location_consent=True)
    return UserLocationFactory(user=user, latitude=latitude, longitude=longitude, **kwargs)


@pytest.fixture
def neighbours(viewer, bob):
    """Bob ≈ 0.56 km north of me, Charlie ≈ 20 km north, Dana has no location."""
    charlie, dana = UserFactory(name="Charlie"), UserFactory(name="Dana")
    go_online(bob, charlie, dana)
    located(viewer, *HOME)
    located(bob, "34.005")
    located(charlie, "34.180")
    return bob, charlie, dana


def test_near_filters_by_distance_and_shows_only_buckets(client, neighbours):
    bob, charlie, _ = neighbours

    within_5 = reel(client, near=5)["results"]
    within_25 = reel(client, near=25)["results"]

    assert [(card["id"], card["distance"]) for card in within_5] == [(str(bob.pk), "< 1 km")]
    assert {card["id"]: card["distance"] for card in within_25} == {str(bob.pk): "< 1 km", str(charlie.pk): "10–25 km"}
    for card in within_25:
        assert set(card) == CARD_FIELDS | {"distance"}  # never a raw distance or coordinates


def test_without_near_no_distance_is_shown(client, neighbours):
    cards = reel(client)["results"]

    assert len(cards) == 3
    assert all("distance" not in card for card in cards)


def test_near_requires_my_consented_unexpired_location(viewer, bob):
    go_online(bob)
    located(bob, "34.001")
    client = signed_in(viewer)

    assert_refused(client.get(REEL, {"near": 5}), 400, "location_required")

    mine = located(viewer, *HOME, expires_at=timezone.now() - timedelta(seconds=1))
    assert_refused(client.get(REEL, {"near": 5}), 400, "location_required")

    mine.expires_at = timezone.now() + timedelta(hours=1)
    mine.save()
    User.objects.filter(pk=viewer.pk).update(location_consent=False)
    assert_refused(client.get(REEL, {"near": 5}), 400, "location_required")

    User.objects.filter(pk=viewer.pk).update(location_consent=True)
    assert ids(reel(client, near=5)) == [str(bob.pk)]


def test_near_ignores_expired_and_unconsented_locations_of_others(client, neighbours):
    bob, charlie, _ = neighbours
    User.objects.filter(pk=charlie.pk).update(location_consent=False)
    assert ids(reel(client, near=25)) == [str(bob.pk)]

    bob.location.expires_at = timezone.now() - timedelta(seconds=1)
    bob.location.save()
    assert ids(reel(client, near=25)) == []


# --- who may ask ------------------------------------------------------------------------------


def test_a_user_without_access_gets_403_no_access(bob):
    User.objects.filter(pk=bob.pk).update(access_status=User.AccessStatus.UNPAID)

    assert_refused(signed_in(bob).get(REEL), 403, "no_access")


def test_a_banned_user_gets_403_banned(bob):
    User.objects.filter(pk=bob.pk).update(ban_status=User.BanStatus.TEMPORARY)

    assert_refused(signed_in(bob).get(REEL), 403, "banned")


def test_a_stranger_without_a_session_gets_401(bob):
    go_online(bob)

    response = APIClient().get(REEL)

    assert_refused(response, 401, "not_authenticated")
    assert "results" not in response.json()


# --- near accepts only the bucket radii (a binary search over it located a person to 3 m) -----


@pytest.mark.parametrize("near", ["0.1", "3", "4.99", "5.01", "7.5", "100", "500", "-5"])
def test_near_other_than_a_bucket_radius_is_refused_with_the_allowed_values(client, neighbours, near):
    response = client.get(REEL, {"near": near})

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["allowed"] == [1, 5, 10, 25, 50]
    assert "near" in body["fields"]


@pytest.mark.parametrize("near", ["nan", "inf", "five"])
def test_near_that_is_not_a_number_is_refused(client, neighbours, near):
    assert_refused(client.get(REEL, {"near": near}), 400, "invalid")


def test_a_search_over_near_learns_nothing_finer_than_the_bucket(client, viewer, bob):
    """Bob at 1.2 km and Charlie at 4.8 km sit in one bucket (1–5 km): every radius a client
    may ask shows both or neither, so no sequence of requests tells them apart."""
    charlie = UserFactory(name="Charlie")
    go_online(bob, charlie)
    located(viewer, *HOME)
    located(bob, "34.0108")  # ≈ 1.2 km north
    located(charlie, "34.0432")  # ≈ 4.8 km north

    answered = {}
    for tenth in range(1, 600):  # every radius from 0.1 to 59.9 km, as a binary search would try
        response = client.get(REEL, {"near": f"{tenth / 10:g}"})
        if response.status_code == 200:
            answered[tenth / 10] = {card["id"]: card["distance"] for card in response.json()["results"]}
        else:
            assert response.status_code == 400

    assert sorted(answered) == [1, 5, 10, 25, 50]
    for seen in answered.values():
        assert (str(bob.pk) in seen) == (str(charlie.pk) in seen)
        assert seen.get(str(bob.pk)) == seen.get(str(charlie.pk))
    assert answered[1] == {}
    assert answered[5] == {str(bob.pk): "1–5 km", str(charlie.pk): "1–5 km"}
