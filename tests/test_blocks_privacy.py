"""What a block must also stop (issue 23): answers stored before it never make a match after an
unblock; neither side can introduce, be introduced to, or learn anything new about the other."""

import pytest

from chat.models import Match, MeetAgainAnswer
from chat.services.blocks import block_user, unblock_user
from moderation.models import AuditLog
from tests.api_support import signed_in
from tests.test_matches import ended_call, pair_match, put

pytestmark = pytest.mark.django_db


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
