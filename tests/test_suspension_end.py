"""A suspension ends at its time, read against users.ban_ends_at wherever a ban is checked:
the minute sweep (lift_ended_suspensions) only tidies, and nothing waits for it. None of
these tests runs the sweep unless it says so."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import is_banned
from chat.services import accept_invite, send_invite
from config.errors import ServiceError
from moderation import case_actions
from moderation.models import AuditLog, Case, Strike, StrikePreset, UserBan
from tests.api_support import PASSWORD, api, make_member, signed_in
from tests.chat_support import go_online
from tests.moderation_support import file, trusted_reporter
from tests.ws_helpers import run


@pytest.fixture
def preset(db):
    return StrikePreset.objects.create(title="Test preset", text="You harassed another member during a call.")


def suspend(user, moderator, preset, *, ended_minutes_ago: int | None = None) -> Strike:
    """A one-day suspension decided now, or decided a day before it ended `ended_minutes_ago`."""
    decided = timezone.now()
    if ended_minutes_ago is not None:
        decided -= timedelta(days=1, minutes=ended_minutes_ago)
    with time_machine.travel(decided, tick=False):
        file(trusted_reporter(user), user, ip="203.0.1.9")
        case = Case.objects.get(reported=user, status="open")
        strike = case_actions.decide_case(
            case.pk, moderator=moderator, decision="suspend", days=1, preset_id=preset.pk
        ).strike
    user.refresh_from_db()
    return strike


def log_in(user):
    return api().post("/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json")


def refusal(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        fn(*args, **kwargs)
    return caught.value


def reel_ids(viewer) -> list[str]:
    response = signed_in(viewer).get("/api/reel")
    assert response.status_code == 200, response.content
    return [card["id"] for card in response.json()["results"]]


# --- the end is written with the ban ----------------------------------------------------------


def test_a_suspension_writes_its_end_on_the_user(bob, moderator, preset):
    strike = suspend(bob, moderator, preset)

    assert (bob.ban_status, bob.ban_ends_at) == ("temporary", strike.ends_at)
    assert is_banned(bob)


def test_a_longer_running_suspension_keeps_its_later_end(bob, moderator, preset):
    first = suspend(bob, moderator, preset)
    Strike.objects.filter(pk=first.pk).update(ends_at=first.ends_at + timedelta(days=29))
    User.objects.filter(pk=bob.pk).update(ban_ends_at=first.ends_at + timedelta(days=29))

    suspend(bob, moderator, preset)

    assert User.objects.get(pk=bob.pk).ban_ends_at == first.ends_at + timedelta(days=29)


# --- after the end, without the sweep: free everywhere ----------------------------------------


def test_after_a_suspension_ended_the_person_logs_in_and_passes_the_api_permission(bob, moderator, preset):
    make_member(bob, "bob@usc.edu")
    suspend(bob, moderator, preset, ended_minutes_ago=1)
    assert User.objects.get(pk=bob.pk).ban_status == "temporary"  # the sweep has not run

    response = log_in(bob)

    assert response.status_code == 200, response.content
    assert not AuditLog.objects.filter(event_type="auth.banned_login").exists()
    client = api(response.json()["token"])
    assert client.get("/api/me").json()["ban_status"] == "none"
    assert client.get("/api/me/ban").json()["ban_status"] == "none"
    assert client.get("/api/reel").status_code == 200


def test_after_a_suspension_ended_the_person_appears_in_another_reel(alice, bob, moderator, preset):
    suspend(bob, moderator, preset, ended_minutes_ago=1)
    go_online(alice, bob)

    assert str(bob.pk) in reel_ids(alice)


@pytest.mark.parametrize("direction", ["to the person", "from the person"])
def test_after_a_suspension_ended_invites_to_and_from_the_person_are_accepted(alice, bob, moderator, preset, direction):
    suspend(bob, moderator, preset, ended_minutes_ago=1)
    go_online(alice, bob)
    caller, callee = (alice, bob) if direction == "to the person" else (bob, alice)

    sent = send_invite(caller, to=callee.pk, mode="video", seconds=300)
    room = accept_invite(callee, invite_id=sent.pk, seconds=300)

    assert room.status == "active"


# --- before the end: refused everywhere, as before --------------------------------------------


def test_during_a_suspension_the_login_is_audited_and_the_api_refuses_403_banned(bob, moderator, preset):
    make_member(bob, "bob@usc.edu")
    suspend(bob, moderator, preset)

    response = log_in(bob)

    assert response.status_code == 200, response.content
    assert AuditLog.objects.filter(event_type="auth.banned_login", target=bob).exists()
    client = api(response.json()["token"])
    assert client.get("/api/me/ban").json()["ban_status"] == "temporary"
    refused = client.get("/api/reel")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"


def test_during_a_suspension_the_person_is_left_out_of_reels_and_invites(alice, bob, moderator, preset):
    suspend(bob, moderator, preset)
    go_online(alice, bob)

    assert str(bob.pk) not in reel_ids(alice)
    assert refusal(send_invite, alice, to=bob.pk, mode="video", seconds=300).code == "not_available"


def test_a_suspension_landing_after_the_invite_refuses_its_accept(alice, bob, moderator, preset):
    go_online(alice, bob)
    sent = send_invite(alice, to=bob.pk, mode="video", seconds=300)
    suspend(bob, moderator, preset)

    assert refusal(accept_invite, bob, invite_id=sent.pk, seconds=300).code == "not_available"


# --- the bans without an end ------------------------------------------------------------------


def test_the_automatic_ban_has_no_end_and_holds_until_a_moderator_decides(bob):
    make_member(bob, "bob@usc.edu")
    for n in (1, 2, 3):
        file(trusted_reporter(bob), bob, ip=f"203.0.{n}.9")
    bob.refresh_from_db()
    assert (bob.ban_status, bob.ban_ends_at) == ("temporary", None)

    with time_machine.travel(timezone.now() + timedelta(days=60)):
        assert is_banned(bob)
        refused = signed_in(bob).get("/api/reel")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"


def test_a_permanent_ban_ignores_an_end(bob):
    past = timezone.now() - timedelta(days=1)

    assert is_banned(User(ban_status=User.BanStatus.PERMANENT, ban_ends_at=past))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rdv_is_banned('permanent', %s, now()), rdv_is_banned('temporary', %s, now())", [past] * 2
        )
        assert cursor.fetchone() == (True, False)


@pytest.mark.parametrize("status", ["none", "permanent", "vindicated"])
def test_the_database_refuses_a_ban_end_on_a_status_other_than_temporary(bob, status):
    with pytest.raises(IntegrityError, match="accounts_users_ban_end_only_temporary"), transaction.atomic():
        User.objects.filter(pk=bob.pk).update(ban_status=status, ban_ends_at=timezone.now())


def test_a_permanent_ban_after_a_suspension_clears_its_end(bob, moderator, preset):
    suspend(bob, moderator, preset)
    file(trusted_reporter(bob), bob, ip="203.0.2.9")
    case = Case.objects.get(reported=bob, status="open")

    case_actions.decide_case(case.pk, moderator=moderator, decision="ban", preset_id=preset.pk)

    assert User.objects.filter(pk=bob.pk).values_list("ban_status", "ban_ends_at").get() == ("permanent", None)


# --- the sweep still tidies -------------------------------------------------------------------


def test_the_minute_sweep_tidies_an_ended_suspension(bob, moderator, preset):
    suspend(bob, moderator, preset, ended_minutes_ago=1)

    assert case_actions.lift_ended_suspensions() == 1

    assert User.objects.filter(pk=bob.pk).values_list("ban_status", "ban_ends_at").get() == ("none", None)
    assert not UserBan.objects.filter(user=bob).exists()
    assert AuditLog.objects.filter(event_type="ban.suspension_ended", target=bob).exists()


# --- the socket -------------------------------------------------------------------------------


async def test_after_a_suspension_ended_a_socket_authenticates(ws, bob, moderator, preset):
    await run(suspend)(bob, moderator, preset, ended_minutes_ago=1)

    socket = await ws.connect(bob)

    assert await socket.is_open()


async def test_during_a_suspension_a_socket_is_closed_4003_banned(ws, bob, moderator, preset):
    await run(suspend)(bob, moderator, preset)
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": await ws.token_for(bob)})

    code, reason, _ = await socket.expect_close()

    assert (code, reason) == (4003, "banned")
