""" "May these two meet?" is one predicate, rdv_pair_barriers (chat/sql/pair_barriers.sql): a
block either way, a live cooldown, or the viewer having reported the other keep a pair apart,
and the reel, the invite and presence hints all ask it, so they agree on every pair. The
invite keeps its refusal per reason and their order; the reel gets it inlined by the planner."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from chat import reel
from chat.models import CallInvite
from chat.services import send_invite
from chat.services.blocks import block_user
from config.errors import ServiceError
from tests.chat_support import go_online, signed_in
from tests.factories import CooldownFactory, ReportFactory, UserFactory, pair

pytestmark = pytest.mark.django_db


def _cooldown(a, b, *, expires_in=timedelta(hours=1)):
    low, high = pair(a, b)
    now = timezone.now()
    CooldownFactory(user_low=low, user_high=high, created_at=now - timedelta(hours=2), expires_at=now + expires_in)


def _invite_outcome(caller, callee) -> str:
    try:
        send_invite(caller, to=callee.pk, mode="video", seconds=300)
    except ServiceError as error:
        return error.code
    CallInvite.objects.filter(from_user=caller).delete()  # the next invite is not refused as a second one
    return "created"


def _reel_ids(user) -> set[str]:
    response = signed_in(user).get("/api/reel")
    assert response.status_code == 200, response.content
    return {card["id"] for card in response.json()["results"]}


@pytest.fixture
def people(alice):
    """alice and one person per barrier, plus one with none (and one whose cooldown is over)."""
    others = {
        name: UserFactory(name=name)
        for name in ("i_blocked", "blocked_me", "cooldown", "i_reported", "reported_me", "expired", "free")
    }
    block_user(alice, others["i_blocked"].pk)
    block_user(others["blocked_me"], alice.pk)
    _cooldown(alice, others["cooldown"])
    _cooldown(alice, others["expired"], expires_in=timedelta(seconds=-1))
    ReportFactory(reporter=alice, reported=others["i_reported"])
    ReportFactory(reporter=others["reported_me"], reported=alice)  # one way: hides nobody from alice
    go_online(alice, *others.values())
    return others


def test_the_reel_the_invite_and_presence_hints_keep_apart_the_same_pairs(alice, people):
    may_meet = {str(people[name].pk) for name in ("reported_me", "expired", "free")}

    assert _reel_ids(alice) == may_meet
    assert reel.presence_audience({p.pk for p in people.values()}, {alice.pk}) == {str(alice.pk): may_meet}
    outcomes = {name: _invite_outcome(alice, person) for name, person in people.items() if name != "free"}
    assert outcomes == {
        "i_blocked": "not_available",
        "blocked_me": "not_available",
        "cooldown": "on_cooldown",
        "i_reported": "not_available",
        "reported_me": "created",
        "expired": "created",
    }


def test_the_function_names_each_reason_of_a_pair(alice, bob):
    block_user(bob, alice.pk)
    _cooldown(alice, bob)
    ReportFactory(reporter=alice, reported=bob)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT viewer_id, other_id, barrier FROM rdv_pair_barriers(%s::uuid[], %s::uuid[], now())",
            [[alice.pk], [bob.pk]],
        )
        rows = sorted(cursor.fetchall(), key=lambda row: row[2])

    assert rows == [(alice.pk, bob.pk, "blocked"), (alice.pk, bob.pk, "cooldown"), (alice.pk, bob.pk, "reported")]


def test_the_invite_refuses_a_pair_with_several_barriers_in_its_order(alice, bob, stranger):
    """blocked before cooldown (not_available), cooldown before reported (on_cooldown)."""
    block_user(bob, alice.pk)
    _cooldown(alice, bob)
    _cooldown(alice, stranger)
    ReportFactory(reporter=alice, reported=stranger)
    go_online(alice, bob, stranger)

    assert _invite_outcome(alice, bob) == "not_available"
    assert _invite_outcome(alice, stranger) == "on_cooldown"


def test_the_reel_query_has_the_pair_checks_inlined_not_called_per_row(alice):
    """LANGUAGE sql, STABLE, one SELECT: the planner inlines rdv_pair_barriers into the reel's
    query (an anti-join over the viewer's barrier rows). A function scan would mean it no longer
    can (made plpgsql, VOLATILE or STRICT) and the reel pays a call per candidate."""
    query = reel.reel_queryset(alice, mode=None, ids=[str(UserFactory().pk)])
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Anti Join" in plan
    assert "rdv_pair_barriers" not in plan and "Function Scan" not in plan
    assert "blocks" in plan and "cooldowns" in plan and "reports" in plan
