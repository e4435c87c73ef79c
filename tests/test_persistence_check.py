"""manage.py persistence_check and /healthz: each persistence invariant is found when broken."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chat.models import ActiveRoom
from chat.services import end_room
from operations import invariants
from referrals.models import InviteCode
from tests import factories as f

pytestmark = pytest.mark.django_db


def violations() -> dict[str, int]:
    return {r.name: r.violations for r in invariants.run_invariants().results if not r.ok}


def run_command(capsys) -> tuple[int, str]:
    try:
        call_command("persistence_check")
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


def ended_properly(started_seconds_ago: int = 120) -> ActiveRoom:
    started = timezone.now() - timedelta(seconds=started_seconds_ago)
    room = f.ActiveRoomFactory(started_at=started, ends_at=started + timedelta(seconds=300))
    with transaction.atomic():
        end_room(room.pk, reason=ActiveRoom.EndReason.USER_ENDED)
    return room


def test_rooms_ended_by_the_service_and_a_used_code_satisfy_every_invariant(capsys):
    ended_properly()
    f.ActiveRoomFactory()  # live, not due
    code = f.InviteCodeFactory(user_code=True)
    f.InviteCodeUseFactory(code=code)
    InviteCode.objects.filter(pk=code.pk).update(uses_remaining=code.max_uses - 1)
    f.USCCardRegistrationFactory(user=f.UserFactory())  # the factory user has no hash: fine
    assert violations() == {}
    status, out = run_command(capsys)
    assert status == 0
    assert "all invariants hold" in out
    assert out.count(" ok ") == len(invariants.CHECKS)


def test_a_timer_total_that_differs_from_the_completions_is_a_violation(capsys):
    room = ended_properly()
    User.objects.filter(pk=room.user_1_id).update(timer_total_seconds=1)
    assert violations() == {"timer_totals_match_completions": 1}
    status, out = run_command(capsys)
    assert status == 1
    assert "timer_totals_match_completions" in out and "VIOLATION" in out and str(room.user_1_id) in out


def test_a_user_in_two_live_rooms_is_a_violation():
    alice, bob, carol = f.UserFactory(), f.UserFactory(), f.UserFactory()
    f.ActiveRoomFactory(user_1=alice, user_2=bob)
    # The database refuses this (trigger + primary key); the check is the second line of defence.
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
            f.ActiveRoomFactory(user_1=carol, user_2=alice)
            cursor.execute("SET LOCAL session_replication_role = origin")
    assert violations() == {"no_user_in_two_live_rooms": 1}


def test_a_live_room_a_minute_past_its_end_is_a_violation_but_one_just_due_is_not(settings):
    started = timezone.now() - timedelta(seconds=400)
    f.ActiveRoomFactory(started_at=started, ends_at=timezone.now() - timedelta(seconds=5))  # a sweep is due
    assert violations() == {}
    f.ActiveRoomFactory(
        started_at=started, ends_at=timezone.now() - timedelta(seconds=settings.PERSISTENCE_OVERDUE_GRACE_SECONDS + 5)
    )
    assert violations() == {"no_live_room_past_its_end": 1}


def test_a_room_whose_grace_expired_long_ago_is_a_violation():
    f.ActiveRoomFactory(status="grace_period", grace_period_expires=timezone.now() - timedelta(minutes=5))
    assert violations() == {"no_live_room_past_its_end": 1}


def test_a_usc_user_without_a_registration_is_a_violation_after_the_grace_period(settings):
    user = f.UserFactory(usc_id_hash="a" * 64)
    assert violations() == {}  # just signed up: finalize-registration may still be running
    User.objects.filter(pk=user.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.PERSISTENCE_USC_GRACE_SECONDS + 1)
    )
    assert violations() == {"every_usc_user_has_a_registration": 1}
    f.USCCardRegistrationFactory(user=user, usc_id_hash="a" * 64)
    assert violations() == {}


def test_invite_code_uses_that_do_not_match_uses_remaining_are_a_violation():
    code = f.InviteCodeFactory(user_code=True)  # 4 of 4 remaining
    f.InviteCodeUseFactory(code=code)  # a use the counter never saw
    f.InviteCodeUseFactory(code=f.InviteCodeFactory())  # unlimited codes have no counter
    assert violations() == {"invite_code_uses_match_remaining": 1}


def test_a_room_ended_without_its_history_is_a_violation():
    f.ActiveRoomFactory(ended=True)
    assert violations() == {"ended_rooms_have_their_records": 1}


def test_healthz_summarises_the_last_run_and_reuses_it(settings):
    """The operator (a request with METRICS_TOKEN) reads which invariant failed; anyone else
    reads only "violation"."""
    settings.METRICS_TOKEN = "operator-token-for-tests"
    client = Client(HTTP_AUTHORIZATION="Bearer operator-token-for-tests")
    room = ended_properly()
    assert client.get("/healthz").json()["persistence"] == "ok"
    User.objects.filter(pk=room.user_1_id).update(timer_total_seconds=7)
    assert client.get("/healthz").json()["persistence"] == "ok"  # cached for a while: /healthz stays cheap
    cache.delete(invariants.HEALTH_CACHE_KEY)
    response = client.get("/healthz")
    assert response.status_code == 200  # reported, not a reason to restart the process
    assert response.json()["persistence"] == "violation: timer_totals_match_completions=1"
    assert Client().get("/healthz").json()["persistence"] == "violation"
