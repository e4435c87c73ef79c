"""Who I want to meet (issue 19): meet_genders (women, men, nonbinary, or everyone) and meet_modes
(text, video) on the profile, applied mutually in the reel, in presence and at invite time: A
sees B only if B fits A's choice and A fits B's. Default everyone and both modes."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from chat import reel
from chat.services import send_invite
from config.errors import ServiceError
from tests.chat_support import go_online, signed_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

F, M, NB, UNSAID = User.Gender.FEMALE, User.Gender.MALE, User.Gender.NONBINARY, User.Gender.UNSPECIFIED
EVERYONE = list(User.Gender.values)


def person(gender, genders=None, modes=None, **kwargs) -> User:
    user = UserFactory(gender=gender, meet_genders=genders or EVERYONE, meet_modes=modes or ["text", "video"], **kwargs)
    go_online(user)
    return user


def reel_ids(user, **params) -> set[str]:
    response = signed_in(user).get("/api/reel", params)
    assert response.status_code == 200, response.content
    return {card["id"] for card in response.json()["results"]}


def patch_me(user, **body):
    return signed_in(user).patch("/api/me", body, format="json")


# --- the profile ----------------------------------------------------------------------------------


def test_default_is_everyone_and_both_modes(alice):
    me = signed_in(alice).get("/api/me").json()

    assert (me["meet_genders"], me["meet_modes"]) == (["everyone"], ["text", "video"])
    assert alice.meet_genders == EVERYONE


@pytest.mark.parametrize(
    ("words", "stored", "shown"),
    [
        (["women"], [F], ["women"]),
        (["nonbinary", "men"], [M, NB], ["men", "nonbinary"]),
        (["women", "men", "nonbinary"], [F, M, NB], ["women", "men", "nonbinary"]),
        (["everyone"], EVERYONE, ["everyone"]),
        (["men", "everyone"], EVERYONE, ["everyone"]),
    ],
)
def test_patch_meet_genders_maps_the_words_to_stored_genders(alice, words, stored, shown):
    response = patch_me(alice, meet_genders=words)

    assert response.status_code == 200, response.content
    assert response.json()["meet_genders"] == shown
    alice.refresh_from_db()
    assert sorted(alice.meet_genders) == sorted(stored)


def test_patch_meet_modes(alice):
    response = patch_me(alice, meet_modes=["video"])

    assert (response.status_code, response.json()["meet_modes"]) == (200, ["video"])


@pytest.mark.parametrize(
    "body",
    [
        {"meet_genders": []},
        {"meet_genders": ["aliens"]},
        {"meet_genders": ["women", "women"]},
        {"meet_genders": "women"},
        {"meet_genders": [1]},
        {"meet_genders": ["female"]},  # the stored word is not the API's
        {"meet_modes": []},
        {"meet_modes": ["audio"]},
        {"meet_modes": ["text", "text"]},
    ],
)
def test_bad_preferences_are_400_with_the_field_named(alice, body):
    response = patch_me(alice, **body)

    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == set(body)


@pytest.mark.parametrize(
    ("field", "value"), [("meet_genders", []), ("meet_genders", ["women"]), ("meet_modes", []), ("meet_modes", ["x"])]
)
def test_database_refuses_an_empty_or_unknown_preference(alice, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(**{field: value})


# --- the reel, mutually ---------------------------------------------------------------------------


def test_a_man_who_wants_women_and_a_woman_who_wants_everyone_see_each_other():
    man, woman = person(M, [F]), person(F)

    assert reel_ids(man) == {str(woman.pk)}
    assert reel_ids(woman) == {str(man.pk)}


def test_a_woman_who_wants_women_and_a_man_who_wants_women_do_not_see_each_other():
    man, woman = person(M, [F]), person(F, [F])

    assert reel_ids(man) == set()
    assert reel_ids(woman) == set()  # he is a man; she wants women: hidden from both


def test_nonbinary_people_are_met_by_those_who_choose_nonbinary_or_everyone():
    nb = person(NB, [NB])
    nb_friendly = person(F, [NB, F])
    everyone = person(NB)
    men_only = person(NB, [M])

    assert reel_ids(nb) == {str(everyone.pk)}  # nb_friendly is a woman: not in nb's choice
    assert reel_ids(nb_friendly) == {str(everyone.pk)}  # nb wants only nonbinary people
    assert reel_ids(everyone) == {str(nb.pk), str(nb_friendly.pk)}
    assert reel_ids(men_only) == set()


def test_people_who_did_not_say_their_gender_are_met_only_by_everyone():
    unsaid = person(UNSAID)
    everyone = person(F)
    all_three = person(F, [F, M, NB])

    assert reel_ids(everyone) == {str(unsaid.pk), str(all_three.pk)}
    assert reel_ids(all_three) == {str(everyone.pk)}
    assert reel_ids(unsaid) == {str(everyone.pk)}  # hidden from the one who left them out


def test_modes_are_mutual_too():
    text_only, video_only, both = person(F, modes=["text"]), person(M, modes=["video"]), person(NB)

    assert reel_ids(text_only) == {str(both.pk)}
    assert reel_ids(video_only) == {str(both.pk)}
    assert reel_ids(both, mode="video") == {str(video_only.pk)}
    assert reel_ids(text_only, mode="video") == set()  # a mode I did not choose: nobody


def test_presence_follows_the_same_mutual_rule():
    man, woman, wants_men = person(M, [F]), person(F, [F]), person(F, [M])

    audience = reel.presence_audience({man.pk, woman.pk}, {man.pk, woman.pk, wants_men.pk})

    assert audience[str(wants_men.pk)] == {str(man.pk)}  # the woman is not a man
    assert str(man.pk) not in audience  # she wants women only
    assert str(woman.pk) not in audience  # he is a man


# --- invites --------------------------------------------------------------------------------------


def refusal(caller, callee, mode="video") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        send_invite(caller, to=callee.pk, mode=mode, seconds=300)
    return caught.value


@pytest.mark.parametrize("who_wants_less", ["caller", "callee"])
def test_an_invite_outside_either_ones_choice_is_exactly_not_available(who_wants_less):
    narrow, wide = person(F, [F]), person(M)
    caller, callee = (narrow, wide) if who_wants_less == "caller" else (wide, narrow)
    offline = UserFactory()

    outside = refusal(caller, callee)

    assert outside.as_dict() == refusal(caller, offline).as_dict()
    assert outside.code == "not_available"


def test_an_invite_in_a_mode_either_one_left_out_is_not_available():
    text_only, both = person(F, modes=["text"]), person(M)

    assert refusal(both, text_only, mode="video").code == "not_available"
    assert refusal(text_only, both, mode="video").code == "not_available"
    assert send_invite(both, to=text_only.pk, mode="text", seconds=300).pk


def test_a_nonbinary_pair_who_want_nonbinary_people_can_invite_each_other():
    a, b = person(NB, [NB]), person(NB, [NB, F])

    assert send_invite(a, to=b.pk, mode="video", seconds=300).pk
