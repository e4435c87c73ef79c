"""Matches after a call (docs/api.md → Matches): "I'd meet again" yes/no within 24 h of the end,
changeable until matched; two yeses make one match (told to both once, in realtime); nobody
learns a "no"; the match lifts the pair's cooldown and rdv_end_room gives a matched pair none;
unmatch removes it for both, silently; each side picks the socials the other sees."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import ActiveRoom, Cooldown, Match, MeetAgainAnswer
from chat.reel import list_reel
from chat.selectors import on_cooldown, ordered_pair
from chat.services import answer_meet_again, end_room
from chat.services.blocks import block_user
from tests.api_support import signed_in
from tests.chat_support import go_online
from tests.concurrency import run_in_parallel
from tests.factories import ActiveRoomFactory, UserFactory
from tests.ws_helpers import run

pytestmark = pytest.mark.django_db


def ended_call(a, b, *, seconds_ago=60) -> ActiveRoom:
    """A call between a and b that ended `seconds_ago`, through end_room (history, cooldown)."""
    started = timezone.now() - timedelta(seconds=seconds_ago + 120)
    room = ActiveRoomFactory(user_1=a, user_2=b, started_at=started, duration_seconds=300)
    end_room(room.pk, reason="user_ended")
    ActiveRoom.objects.filter(pk=room.pk).update(ended_at=timezone.now() - timedelta(seconds=seconds_ago))
    return room


def put(client, room, answer):
    return client.put(f"/api/rooms/{room.pk}/meet-again", {"answer": answer}, format="json")


def pair_match(a, b):
    low, high = ordered_pair(str(a.pk), str(b.pk))
    return Match.objects.filter(user_low_id=low, user_high_id=high).first()


# --- two yeses ---------------------------------------------------------------------------------


def test_two_yeses_make_a_match_both_are_told_once_and_the_cooldown_is_lifted(
    alice, bob, inbox, django_capture_on_commit_callbacks
):
    room = ended_call(alice, bob)
    assert on_cooldown(alice.pk, bob.pk)
    box = inbox(alice, bob)
    a, b = signed_in(alice), signed_in(bob)

    with django_capture_on_commit_callbacks(execute=True):
        first = put(a, room, "yes")
    assert first.status_code == 200, first.content
    assert first.json()["answer"] == "yes" and first.json()["match"] is None
    assert not Match.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        second = put(b, room, "yes")
    assert second.status_code == 200
    match = pair_match(alice, bob)
    assert second.json()["match"]["id"] == str(match.pk)
    assert second.json()["match"]["partner"]["id"] == str(alice.pk)
    assert not on_cooldown(alice.pk, bob.pk) and not Cooldown.objects.exists()

    got = box.drain()
    for me, partner in ((alice, bob), (bob, alice)):
        news = [e for e in got[me.pk] if e["type"] == "match.new"]
        assert len(news) == 1, got[me.pk]
        assert news[0]["match"] == str(match.pk) and news[0]["partner"]["id"] == str(partner.pk)

    # Both see each other in the Matches list, and a first answer of theirs now shows the match.
    listed = a.get("/api/matches").json()["results"]
    assert [m["partner"]["name"] for m in listed] == ["Bob"]
    assert a.get(f"/api/rooms/{room.pk}/meet-again").json()["match"]["id"] == str(match.pk)


def test_matched_people_see_each_other_in_the_reel_despite_the_call_they_just_had(alice, bob):
    room = ended_call(alice, bob)
    go_online(alice, bob)
    assert [c["id"] for c in list_reel(alice).results] == []  # the session-end cooldown
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    assert [str(c["id"]) for c in list_reel(alice).results] == [str(bob.pk)]
    assert [str(c["id"]) for c in list_reel(bob).results] == [str(alice.pk)]


def test_a_matched_pair_gets_no_session_end_cooldown_but_a_decline_cooldown_still_applies(alice, bob):
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)

    again = ActiveRoomFactory(user_1=bob, user_2=alice)
    end_room(again.pk, reason="timer")
    assert not Cooldown.objects.exists()  # rdv_end_room (chat 0008) skips it for a match

    stranger = UserFactory()
    other = ActiveRoomFactory(user_1=alice, user_2=stranger)
    end_room(other.pk, reason="timer")
    assert on_cooldown(alice.pk, stranger.pk)  # everyone else still gets theirs

    from chat.services import decline_invite, send_invite

    go_online(alice, bob)
    invite = send_invite(alice, to=bob.pk, mode="text", seconds=120)
    decline_invite(bob, invite_id=invite.pk)
    assert on_cooldown(alice.pk, bob.pk)


# --- nobody learns a no --------------------------------------------------------------------------


def test_a_yes_and_a_no_make_no_match_and_the_yes_side_cannot_tell_a_no_from_no_answer(alice, bob):
    room, other_room = ended_call(alice, bob), ended_call(alice, UserFactory())
    a = signed_in(alice)
    put(a, room, "yes")
    put(a, other_room, "yes")  # the other person never answers
    put(signed_in(bob), room, "no")

    assert not Match.objects.exists()
    answered_no = a.get(f"/api/rooms/{room.pk}/meet-again").json()
    not_answered = a.get(f"/api/rooms/{other_room.pk}/meet-again").json()
    for body in (answered_no, not_answered):
        body.pop("room"), body.pop("answered_at"), body.pop("closes_at")
    assert answered_no == not_answered == {"answer": "yes", "match": None}
    # Changing one's answer after the other said no is answered exactly as before they did.
    changed = put(a, room, "no")
    unanswered_changed = put(a, other_room, "no")
    assert changed.status_code == unanswered_changed.status_code == 200
    assert changed.json()["answer"] == unanswered_changed.json()["answer"] == "no"
    assert a.get("/api/matches").json()["results"] == []


def test_an_answer_can_change_and_a_late_yes_meeting_a_yes_still_makes_the_match(alice, bob):
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=False)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    assert not Match.objects.exists()
    state = answer_meet_again(alice, room_id=room.pk, answer=True)
    assert state.matched_now and pair_match(alice, bob)
    assert MeetAgainAnswer.objects.filter(room=room).count() == 2


def test_a_no_while_matched_is_refused_with_already_matched(alice, bob):
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    response = put(signed_in(alice), room, "no")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_matched"


def test_a_block_removes_the_match_for_both_and_two_yeses_across_a_block_make_none(alice, bob):
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    assert pair_match(alice, bob)
    block_user(bob, alice.pk)
    assert pair_match(alice, bob) is None
    assert signed_in(alice).get("/api/matches").json()["results"] == []
    # Answered again across the block: stored as usual (nothing tells Alice), no match made.
    state = answer_meet_again(alice, room_id=room.pk, answer=True)
    assert state.answer is True and state.match is None and not state.matched_now
    assert pair_match(alice, bob) is None


def test_two_yeses_of_a_pair_where_one_blocked_the_other_make_no_match(alice, bob):
    room = ended_call(alice, bob)
    block_user(alice, bob.pk)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    state = answer_meet_again(bob, room_id=room.pk, answer=True)
    assert state.match is None and not Match.objects.exists()
    assert MeetAgainAnswer.objects.filter(room=room, answer=True).count() == 2


# --- the window and who may answer ---------------------------------------------------------------


def test_an_answer_after_24_hours_is_410_and_before_the_end_is_409(alice, bob):
    old = ended_call(alice, bob, seconds_ago=24 * 3600 + 1)
    late = put(signed_in(alice), old, "yes")
    assert late.status_code == 410 and late.json()["error"]["code"] == "meet_again_closed"
    assert not MeetAgainAnswer.objects.exists()

    just_in_time = ended_call(alice, UserFactory(), seconds_ago=24 * 3600 - 5)
    assert put(signed_in(alice), just_in_time, "yes").status_code == 200

    live = ActiveRoomFactory(user_1=alice, user_2=UserFactory())
    early = put(signed_in(alice), live, "yes")
    assert early.status_code == 409 and early.json()["error"]["code"] == "room_not_ended"


def test_strangers_and_made_up_rooms_get_the_same_404(alice, bob, stranger):
    room = ended_call(alice, bob)
    client = signed_in(stranger)
    for path in (f"/api/rooms/{room.pk}/meet-again", "/api/rooms/00000000-0000-4000-8000-000000000000/meet-again"):
        assert client.put(path, {"answer": "yes"}, format="json").json()["error"]["code"] == "not_found"
        assert client.get(path).status_code == 404
    assert not MeetAgainAnswer.objects.exists()


def test_the_answer_must_be_yes_or_no(alice, bob):
    room = ended_call(alice, bob)
    response = put(signed_in(alice), room, "maybe")
    assert response.status_code == 400 and "answer" in response.json()["error"]["fields"]


# --- the database's last word ------------------------------------------------------------------


def test_the_database_refuses_an_unordered_pair_and_a_second_match_row(alice, bob):
    low, high = sorted([alice, bob], key=lambda u: str(u.pk))
    Match.objects.create(user_low=low, user_high=high)
    with pytest.raises(IntegrityError), transaction.atomic():
        Match.objects.create(user_low=high, user_high=low)
    with pytest.raises(IntegrityError), transaction.atomic():
        Match.objects.create(user_low=low, user_high=high)
    first, second = sorted([alice, UserFactory()], key=lambda u: str(u.pk))
    with pytest.raises(IntegrityError), transaction.atomic():
        Match.objects.create(user_low=first, user_high=second, low_shares={"instagram": True})  # not an array


def test_the_database_refuses_a_second_answer_per_room_and_user(alice, bob):
    room = ended_call(alice, bob)
    MeetAgainAnswer.objects.create(room=room, user=alice, answer=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        MeetAgainAnswer.objects.create(room=room, user=alice, answer=False)


# --- unmatch and socials -------------------------------------------------------------------------


def test_unmatch_removes_it_for_both_silently_and_the_others_yes_cannot_bring_it_back(
    alice, bob, inbox, django_capture_on_commit_callbacks
):
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    match = pair_match(alice, bob)
    box = inbox(alice, bob)
    a, b = signed_in(alice), signed_in(bob)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert a.delete(f"/api/matches/{match.pk}").status_code == 204
    assert callbacks == []  # nobody is told
    assert box.drain() == {alice.pk: [], bob.pk: []}
    assert a.get("/api/matches").json()["results"] == [] and b.get("/api/matches").json()["results"] == []
    assert put(b, room, "yes").json()["match"] is None  # Bob's yes again: Alice's is now a no
    assert a.delete(f"/api/matches/{match.pk}").status_code == 404


def test_only_a_side_may_unmatch_or_share(alice, bob, stranger):
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    match = pair_match(alice, bob)
    client = signed_in(stranger)
    assert client.delete(f"/api/matches/{match.pk}").status_code == 404
    put_socials = client.put(f"/api/matches/{match.pk}/socials", {"networks": ["instagram"]}, format="json")
    assert put_socials.status_code == 404
    assert Match.objects.filter(pk=match.pk).exists()


def test_socials_are_shown_only_for_the_networks_each_side_chose_default_none(alice, bob):
    alice.socials = {"instagram": "alice.ig", "snapchat": "alicesnap"}
    alice.save(update_fields=["socials"])
    room = ended_call(alice, bob)
    answer_meet_again(alice, room_id=room.pk, answer=True)
    answer_meet_again(bob, room_id=room.pk, answer=True)
    match = pair_match(alice, bob)
    a, b = signed_in(alice), signed_in(bob)
    assert b.get("/api/matches").json()["results"][0]["partner_socials"] == {}  # nothing until chosen

    shared = a.put(f"/api/matches/{match.pk}/socials", {"networks": ["instagram"]}, format="json")
    assert shared.status_code == 200 and shared.json()["shared_networks"] == ["instagram"]
    seen = b.get("/api/matches").json()["results"][0]
    assert seen["partner_socials"] == {"instagram": "alice.ig"} and seen["shared_networks"] == []
    bad = a.put(f"/api/matches/{match.pk}/socials", {"networks": ["myspace"]}, format="json")
    assert bad.status_code == 400


# --- concurrency ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_simultaneous_yeses_make_exactly_one_match_and_each_side_is_told_once(round_, inbox):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    room = ended_call(alice, bob)
    box = inbox(alice, bob)
    clients = [signed_in(alice), signed_in(bob)]

    results = run_in_parallel(2, lambda i: put(clients[i], room, "yes"))

    assert [r.status_code for r in results] == [200, 200], results
    assert Match.objects.count() == 1
    matches = [r.json()["match"] for r in results]
    assert sum(m is not None for m in matches) >= 1  # the second to commit saw it
    got = box.drain()
    for user in (alice, bob):
        assert [e["type"] for e in got[user.pk]].count("match.new") == 1, got[user.pk]


# --- realtime, over real sockets --------------------------------------------------------------------


async def test_match_new_reaches_every_socket_of_both_sides_as_the_asyncapi_document_says(ws):
    alice, bob = await run(UserFactory)(name="Alice"), await run(UserFactory)(name="Bob")
    room = await run(ended_call)(alice, bob)
    a, b = await ws.connect(alice), await ws.connect(bob)

    await run(answer_meet_again)(alice, room_id=room.pk, answer=True)
    await a.assert_no_event("match.new")
    await run(answer_meet_again)(bob, room_id=room.pk, answer=True)

    got_a, got_b = await a.receive_until("match.new"), await b.receive_until("match.new")
    assert got_a["match"] == got_b["match"]
    assert (got_a["partner"]["id"], got_b["partner"]["id"]) == (str(bob.pk), str(alice.pk))
    await a.assert_no_event("match.new")  # once
