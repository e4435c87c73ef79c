"""POST /api/reel/by-code: a friend's invite code or introduction code gives their reel card when
they are in my reel right now (the reel's own rules and query), and one identical 404 for
everything else (unknown code, my own, blocked, offline, unavailable, preferences, cooldown,
reported, banned, no access, held, in a call, event mode), so codes cannot be probed. Rate limited
per user and per address. The invite that follows checks every rule again."""

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from chat import event_mode, presence
from chat.errors import NotAvailable
from chat.event_mode import update_settings
from chat.models import Block
from chat.services import send_invite
from referrals.models import InviteCode
from screening.models import AccountHold
from tests.api_support import api
from tests.chat_support import go_online, signed_in
from tests.factories import (
    ActiveRoomFactory,
    CooldownFactory,
    InviteCodeFactory,
    ReferralMappingFactory,
    ReferralNotificationFactory,
    ReportFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BY_CODE = "/api/reel/by-code"
NO_ONE = {"error": {"code": "no_one_with_code", "message": "No one you can call right now has that code."}}
UNKNOWN_CODE = "ZZZZ9999ZZZZ9999"


@pytest.fixture
def viewer(alice):
    go_online(alice)
    return alice


@pytest.fixture
def friend(bob):
    go_online(bob)
    return bob


@pytest.fixture
def friend_code(friend):
    return InviteCodeFactory(user_code=True, created_by=friend).code


@pytest.fixture
def client(viewer):
    return signed_in(viewer)


def look_up(client, code, **extra):
    return client.post(BY_CODE, {"code": code, **extra}, format="json")


def answer(response) -> tuple[int, dict]:
    return response.status_code, response.json()


def reel_card_of(client, user) -> dict:
    body = client.get("/api/reel").json()
    return next(card for card in body["results"] if card["id"] == str(user.pk))


# --- a callable friend ------------------------------------------------------------------------


def test_a_friends_invite_code_gives_their_reel_card(client, friend, friend_code):
    response = look_up(client, friend_code)

    assert response.status_code == 200, response.content
    assert response.json() == reel_card_of(client, friend)
    assert response.json()["id"] == str(friend.pk)


def test_an_introduction_code_gives_the_person_it_introduces(client, friend):
    link = ReferralMappingFactory(target_user=friend)

    response = look_up(client, link.referral_code)

    assert answer(response) == (200, reel_card_of(client, friend))


def test_a_used_up_invite_code_still_names_its_owner(client, friend):
    code = InviteCodeFactory(user_code=True, created_by=friend, uses_remaining=0).code

    assert look_up(client, code).json()["id"] == str(friend.pk)


@pytest.mark.parametrize("typed", ["{c}", "{lower}", " {c} ", "{dashed}", "{spaced}"])
def test_codes_are_normalised_like_the_sign_up_form(client, friend, friend_code, typed):
    c = friend_code
    written = typed.format(
        c=c, lower=c.lower(), dashed=f"{c[:4]}-{c[4:8]}-{c[8:12]}-{c[12:]}", spaced=f"{c[:8]} {c[8:]}"
    )

    assert answer(look_up(client, written)) == (200, reel_card_of(client, friend))


def test_an_introduced_friend_is_marked_as_in_the_reel(client, viewer, friend, friend_code):
    ReferralNotificationFactory(for_user=friend, referred_user=viewer)

    assert look_up(client, friend_code).json()["introduced"] is True


def test_a_mode_asks_for_someone_available_for_that_mode(client, friend, friend_code):
    presence.set_available(friend.pk, True, ("text",))

    assert look_up(client, friend_code, mode="text").status_code == 200
    assert answer(look_up(client, friend_code, mode="video")) == answer(look_up(client, UNKNOWN_CODE, mode="video"))


# --- one answer for everything else -----------------------------------------------------------


def _own_code(viewer, friend):
    return InviteCodeFactory(user_code=True, created_by=viewer).code


def _admin_code(viewer, friend):
    return InviteCodeFactory().code


def _switched_off(viewer, friend):
    InviteCode.objects.filter(created_by=friend).update(is_active=False)


def _friend_blocked_me(viewer, friend):
    Block.objects.create(blocker=friend, blocked=viewer)


def _i_blocked_friend(viewer, friend):
    Block.objects.create(blocker=viewer, blocked=friend)


def _offline(viewer, friend):
    presence.drop(friend.pk, f"test-channel-{friend.pk}")


def _unavailable(viewer, friend):
    presence.set_available(friend.pk, False)


def _preferences_leave_me_out(viewer, friend):
    User.objects.filter(pk=viewer.pk).update(gender=User.Gender.MALE)
    User.objects.filter(pk=friend.pk).update(meet_genders=[User.Gender.FEMALE])


def _no_shared_mode(viewer, friend):
    User.objects.filter(pk=viewer.pk).update(meet_modes=["text"])
    User.objects.filter(pk=friend.pk).update(meet_modes=["video"])


def _cooldown(viewer, friend):
    CooldownFactory(user_low=viewer, user_high=friend)


def _i_reported_friend(viewer, friend):
    ReportFactory(reporter=viewer, reported=friend)


def _friend_banned(viewer, friend):
    User.objects.filter(pk=friend.pk).update(ban_status=User.BanStatus.TEMPORARY)


def _friend_without_access(viewer, friend):
    User.objects.filter(pk=friend.pk).update(access_status=User.AccessStatus.UNPAID)


def _friend_held(viewer, friend):
    AccountHold.objects.create(user=friend, distance=3)


def _i_am_held(viewer, friend):
    AccountHold.objects.create(user=viewer, distance=3)


def _friend_in_a_call(viewer, friend):
    ActiveRoomFactory(user_1=friend, user_2=UserFactory())


NOT_CALLABLE = [
    _own_code,
    _admin_code,
    _switched_off,
    _friend_blocked_me,
    _i_blocked_friend,
    _offline,
    _unavailable,
    _preferences_leave_me_out,
    _no_shared_mode,
    _cooldown,
    _i_reported_friend,
    _friend_banned,
    _friend_without_access,
    _friend_held,
    _i_am_held,
    _friend_in_a_call,
]


@pytest.mark.parametrize("case", NOT_CALLABLE, ids=lambda case: case.__name__.strip("_"))
def test_someone_i_cannot_call_answers_exactly_as_an_unknown_code(client, viewer, friend, friend_code, case):
    code = case(viewer, friend) or friend_code

    refused = look_up(client, code)
    unknown = look_up(client, UNKNOWN_CODE)

    assert answer(refused) == answer(unknown) == (404, NO_ONE)
    assert refused.headers.get("Content-Type") == unknown.headers.get("Content-Type")


@pytest.mark.parametrize("case", [_own_code, _friend_blocked_me, _offline, _cooldown, _friend_in_a_call])
def test_a_refused_code_an_unknown_one_and_a_callable_one_run_the_same_queries(
    client, viewer, friend, friend_code, case
):
    """The same statements whatever the outcome (only their parameters differ), so the time taken
    does not tell which rule refused."""

    def statements(code):
        with CaptureQueriesContext(connection) as captured:
            look_up(client, code)
        return len(captured.captured_queries)

    look_up(client, UNKNOWN_CODE)  # the first request of a process reads the event settings into the cache
    callable_count = statements(friend_code)
    unknown_count = statements(UNKNOWN_CODE)
    refused_count = statements(case(viewer, friend) or friend_code)

    assert callable_count == unknown_count == refused_count


# --- event mode -------------------------------------------------------------------------------

NOON_WED = datetime(2027, 3, 10, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles: the 19-22 window is closed


@pytest.fixture
def event_closed(moderator, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(NOON_WED, tick=True)
    with django_capture_on_commit_callbacks(execute=True):
        update_settings(
            moderator=moderator,
            enabled=True,
            window_start=time(19),
            window_end=time(22),
            time_zone="America/Los_Angeles",
            weekdays=[],
        )


def test_a_pass_holder_finds_only_another_pass_holder_while_the_event_is_closed(
    event_closed, moderator, viewer, friend
):
    event_mode.grant_pass(viewer.pk, moderator=moderator)
    code = InviteCodeFactory(user_code=True, created_by=friend).code
    go_online(viewer, friend)
    client = signed_in(viewer)

    assert answer(look_up(client, code)) == answer(look_up(client, UNKNOWN_CODE)) == (404, NO_ONE)

    event_mode.grant_pass(friend.pk, moderator=moderator)
    assert look_up(client, code).json()["id"] == str(friend.pk)


def test_outside_the_event_window_the_lookup_is_closed_as_the_reel_whatever_the_code(event_closed, viewer, friend):
    code = InviteCodeFactory(user_code=True, created_by=friend).code
    client = signed_in(viewer)

    known, unknown = look_up(client, code), look_up(client, UNKNOWN_CODE)

    assert known.status_code == 403
    assert known.json()["error"]["code"] == "event_closed"
    assert answer(known) == answer(unknown) == answer(client.get("/api/reel"))


# --- the invite checks again ------------------------------------------------------------------


def test_the_id_from_a_lookup_is_invited_through_the_invite(client, viewer, friend, friend_code):
    card = look_up(client, friend_code).json()

    invite = send_invite(viewer, to=card["id"], mode="video", seconds=300)

    assert invite.to_user_id == friend.pk


def test_an_invite_after_the_lookup_is_refused_if_they_blocked_me_since(client, viewer, friend, friend_code):
    card = look_up(client, friend_code).json()
    Block.objects.create(blocker=friend, blocked=viewer)

    with pytest.raises(NotAvailable):
        send_invite(viewer, to=card["id"], mode="video", seconds=300)


def test_an_invite_after_the_lookup_is_refused_if_they_went_unavailable_since(client, viewer, friend, friend_code):
    card = look_up(client, friend_code).json()
    presence.set_available(friend.pk, False)

    with pytest.raises(NotAvailable):
        send_invite(viewer, to=card["id"], mode="video", seconds=300)


# --- input, access, limits --------------------------------------------------------------------


def test_without_a_session_the_lookup_is_401(friend_code):
    response = api().post(BY_CODE, {"code": friend_code}, format="json")

    assert response.status_code == 401


def test_someone_without_access_cannot_look_up_codes(friend_code):
    unpaid = UserFactory(access_status=User.AccessStatus.UNPAID)

    response = look_up(signed_in(unpaid), friend_code)

    assert response.status_code == 403
    assert response.json()["error"]["code"] != "no_one_with_code"


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "X" * 65}, {"code": "ABC", "mode": "smoke"}])
def test_a_missing_or_bad_code_is_a_400_with_field_messages(client, body):
    response = client.post(BY_CODE, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"]


def test_lookups_past_the_budget_per_user_get_429_with_retry_after(settings, client, friend_code, stranger):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "call_by_code": "3/h", "call_by_code_ip": "1000/h"}

    answers = [look_up(client, code).status_code for code in [friend_code, UNKNOWN_CODE, UNKNOWN_CODE, friend_code]]

    assert answers == [200, 404, 404, 429]
    refused = look_up(client, friend_code).json()["error"]
    assert refused["code"] == "rate_limited"
    assert 0 < refused["retry_after"] <= 3600
    assert look_up(signed_in(stranger), friend_code).status_code == 200  # another person's budget is their own


def test_lookups_past_the_budget_per_address_get_429_whoever_asks(settings, friend_code):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "call_by_code": "1000/h", "call_by_code_ip": "3/h"}
    people = [UserFactory() for _ in range(4)]
    go_online(*people)

    answers = [look_up(signed_in(person), friend_code).status_code for person in people]

    assert answers == [200, 200, 200, 429]
    other_address = signed_in(people[0])
    other_address.defaults["REMOTE_ADDR"] = "198.51.100.7"
    assert look_up(other_address, friend_code).status_code == 200
