"""The automatic temporary ban and the moderator decisions that follow it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.services.sessions import start_session
from chat.models import ActiveRoom
from moderation import services
from moderation.errors import NotBanned, ProtectedAccount
from moderation.models import AuditLog, IPBan, Report, UserBan
from tests.api_support import signed_in
from tests.concurrency import run_in_parallel
from tests.factories import ActiveRoomFactory, AuthSessionFactory, UserFactory
from tests.ws_helpers import run

pytestmark = pytest.mark.usefixtures("count_each_report")


def reporter_of(target, **fields):
    """A member who shared an (ended) call with target."""
    user = UserFactory(**fields)
    ActiveRoomFactory(user_1=user, user_2=target, ended=True)
    return user


def file(reporter, target, ip):
    return services.submit_report(reporter, reported_id=target.pk, category="harassment", text="rude", ip=ip)


def report_from(target, ips):
    """One report per IP in `ips`, each from a new reporter; returns the results."""
    return [file(reporter_of(target), target, ip) for ip in ips]


def refreshed(user):
    return User.objects.get(pk=user.pk)


# --- the threshold -----------------------------------------------------------------------------


def test_fourth_unlinked_fresh_reporter_reaches_the_weighted_threshold_and_bans_temporarily(bob):
    results = report_from(bob, ["198.51.100.1", "198.51.100.1", "198.51.100.2"])
    assert [r.banned for r in results] == [False, False, False]
    assert refreshed(bob).ban_status == User.BanStatus.NONE

    fourth = report_from(bob, ["198.51.100.1"])[0]

    assert fourth.banned is True
    assert refreshed(bob).ban_status == User.BanStatus.TEMPORARY
    record = UserBan.objects.get(user=bob)
    assert (record.status, record.review_status, record.report_count) == ("temporary", "pending", 4)
    audit = AuditLog.objects.get(event_type="ban.temporary")
    assert audit.target == bob and audit.details["reports"] == 4 and audit.details["weight"] == 0.8
    assert not IPBan.objects.exists()  # no IP ban at this step (campus NATs)


def test_three_reporters_from_three_ips_do_not_ban(bob):
    report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    assert refreshed(bob).ban_status == User.BanStatus.NONE


def test_reports_of_a_deleted_reporter_stop_counting_as_a_distinct_reporter(bob):
    results = report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    results[0].report.reporter.delete()
    assert report_from(bob, ["198.51.100.4"])[0].banned is False
    assert report_from(bob, ["198.51.100.5"])[0].banned is True


def test_ban_records_the_ips_of_the_users_sessions(bob):
    AuthSessionFactory(user=bob, ip="203.0.113.5")
    AuthSessionFactory(user=bob, ip="203.0.113.6", is_active=False)
    report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"])
    assert UserBan.objects.get(user=bob).ip_addresses == ["203.0.113.5", "203.0.113.6"]


def test_vindicated_reports_no_longer_count_but_new_ones_do(bob, moderator):
    report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"])
    services.vindicate(bob.pk, moderator=moderator)
    assert refreshed(bob).ban_status == User.BanStatus.VINDICATED

    results = report_from(refreshed(bob), ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    assert not any(r.banned for r in results)
    assert report_from(refreshed(bob), ["198.51.100.9"])[0].banned is True
    record = UserBan.objects.get(user=bob)
    assert (record.status, record.review_status, record.report_count) == ("temporary", "pending", 4)


def test_reports_after_the_ban_update_the_pending_count_without_a_second_ban(bob):
    report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"])
    assert report_from(refreshed(bob), ["198.51.100.5"])[0].banned is False
    assert UserBan.objects.get(user=bob).report_count == 5
    assert AuditLog.objects.filter(event_type="ban.temporary").count() == 1


# --- what a ban does -----------------------------------------------------------------------------


def test_ban_deactivates_sessions_ends_the_live_room_as_banned_and_pushes_banned(
    bob, alice, inbox, django_capture_on_commit_callbacks
):
    reporters = [reporter_of(bob) for _ in range(3)]
    for reporter, ip in zip(reporters, ["198.51.100.1", "198.51.100.2", "198.51.100.3"], strict=True):
        file(reporter, bob, ip)
    room = ActiveRoomFactory(user_1=alice, user_2=bob)  # a live call with alice
    bob_client = signed_in(bob)
    box = inbox(bob, alice)
    last = reporter_of(bob)

    with django_capture_on_commit_callbacks(execute=True):
        assert file(last, bob, "198.51.100.4").banned is True

    assert not AuthSession.objects.filter(user=bob, is_active=True).exists()
    room.refresh_from_db()
    assert (room.status, room.end_reason) == (ActiveRoom.Status.ENDED, "banned")
    events = box.drain()
    bob_types = [e["type"] for e in events[bob.pk]]
    assert {"room.ended", "banned", "session_invalidated"} <= set(bob_types)
    assert {"type": "banned", "ban_status": "temporary"} in events[bob.pk]
    assert next(e for e in events[alice.pk] if e["type"] == "room.ended")["reason"] == "banned"
    # The old token is dead: 401 (a new login would get 403 banned, see below).
    assert bob_client.get("/api/me").status_code == 401


def test_banned_user_gets_403_banned_everywhere_but_me_ban(bob):
    report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"])
    client = signed_in(refreshed(bob))  # e.g. a login after the ban

    refused = client.get("/api/me")
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "banned",
        "message": "This account is banned.",
        "ban_status": "temporary",
    }
    status = client.get("/api/me/ban")
    assert status.status_code == 200
    body = status.json()
    assert (body["ban_status"], body["review_status"]) == ("temporary", "pending")
    assert body["banned_at"]


def test_report_api_crossing_the_threshold_answers_201_and_bans(bob):
    report_from(bob, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    reporter = reporter_of(bob)
    response = signed_in(reporter).post(
        "/api/reports",
        {"reported_user_id": str(bob.pk), "category": "nudity"},
        format="json",
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 201
    assert "banned" not in response.json()  # the reporter is not told
    assert refreshed(bob).ban_status == User.BanStatus.TEMPORARY


@pytest.mark.django_db(transaction=True)
def test_parallel_reports_ban_exactly_once():
    target = UserFactory(name="Target")
    reporters = [reporter_of(target) for _ in range(8)]

    results = run_in_parallel(8, lambda i: file(reporters[i], target, f"198.51.100.{i + 1}"))

    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.banned for r in results) == 1
    assert Report.objects.filter(reported=target).count() == 8
    assert AuditLog.objects.filter(event_type="ban.temporary").count() == 1
    assert UserBan.objects.get(user=target).report_count >= 4


@pytest.mark.django_db(transaction=True)
def test_parallel_duplicate_reports_store_one():
    target = UserFactory(name="Target")
    reporter = reporter_of(target)

    results = run_in_parallel(5, lambda i: file(reporter, target, "198.51.100.1"))

    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(getattr(r, "code", None) == "already_reported" for r in results if isinstance(r, Exception))
    assert Report.objects.count() == 1


async def test_ban_closes_the_users_open_socket_with_reason_banned(ws):
    target = await run(UserFactory)(name="Target")
    socket = await ws.connect(target)
    reporters = [await run(reporter_of)(target) for _ in range(4)]

    for i, reporter in enumerate(reporters):
        await run(file)(reporter, target, f"198.51.100.{i + 1}")

    code, reason, messages = await socket.expect_close()
    assert (code, reason) == (4003, "banned")
    assert {"type": "banned", "ban_status": "temporary"} in messages


# --- moderator decisions ----------------------------------------------------------------------------


def banned_user(**fields):
    user = UserFactory(**fields)
    AuthSessionFactory(user=user, ip="203.0.113.10")
    AuthSessionFactory(user=user, ip="203.0.113.11", is_active=False)
    report_from(user, ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"])
    return refreshed(user)


def test_permanent_ban_reviews_the_record_and_ip_bans_session_addresses_with_expiry(moderator, settings):
    settings.PERMANENT_BAN_IP_DAYS = 30
    user = banned_user()

    record = services.ban_permanently(user.pk, moderator=moderator, reason="confirmed", ip="192.0.2.1")

    assert refreshed(user).ban_status == User.BanStatus.PERMANENT
    assert (record.status, record.review_status, record.reviewed_by, record.reason) == (
        "permanent",
        "reviewed",
        moderator,
        "confirmed",
    )
    bans = {b.ip: b for b in IPBan.objects.all()}
    assert set(bans) == {"203.0.113.10", "203.0.113.11"}
    for ban in bans.values():
        assert ban.user == user and ban.banned_by == moderator
        assert abs(ban.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert not Report.objects.filter(reported=user, reviewed=False).exists()
    audit = AuditLog.objects.get(event_type="ban.permanent")
    assert (audit.actor, audit.target, audit.ip) == (moderator, user, "192.0.2.1")
    assert sorted(audit.details["ip_bans"]) == ["203.0.113.10", "203.0.113.11"]


def test_permanent_ban_keeps_a_longer_existing_ip_ban(moderator):
    user = banned_user()
    IPBan.objects.create(ip="203.0.113.10", reason="earlier, permanent")

    services.ban_permanently(user.pk, moderator=moderator)

    assert IPBan.objects.get(ip="203.0.113.10").expires_at is None


def test_vindicate_lifts_the_ban_and_marks_reports_reviewed(moderator):
    user = banned_user()
    record = services.vindicate(user.pk, moderator=moderator)
    assert refreshed(user).ban_status == User.BanStatus.VINDICATED
    assert (record.status, record.review_status, record.reviewed_by) == ("vindicated", "reviewed", moderator)
    assert Report.objects.filter(reported=user).count() == Report.objects.filter(reported=user, reviewed=True).count()
    assert AuditLog.objects.filter(event_type="ban.vindicated", actor=moderator, target=user).exists()
    assert signed_in(refreshed(user)).get("/api/me").status_code == 200


def test_unban_after_a_permanent_ban_lifts_its_ip_bans(moderator):
    user = banned_user()
    services.ban_permanently(user.pk, moderator=moderator)

    services.unban(user.pk, moderator=moderator)

    assert refreshed(user).ban_status == User.BanStatus.NONE
    assert not UserBan.objects.filter(user=user).exists()
    assert not IPBan.objects.exists()
    audit = AuditLog.objects.get(event_type="ban.lifted")
    assert audit.details["previous_status"] == "permanent"
    assert sorted(audit.details["ip_bans_lifted"]) == ["203.0.113.10", "203.0.113.11"]


def test_unban_of_a_user_without_a_ban_is_refused(moderator, alice):
    with pytest.raises(NotBanned):
        services.unban(alice.pk, moderator=moderator)
    assert not AuditLog.objects.exists()


def test_moderator_cannot_ban_staff_but_a_superuser_can(moderator):
    colleague = UserFactory(staff=True)
    with pytest.raises(ProtectedAccount):
        services.ban_permanently(colleague.pk, moderator=moderator)


def test_moderator_cannot_ban_a_superuser_but_a_superuser_can(moderator):
    boss = UserFactory(staff=True, is_superuser=True)
    with pytest.raises(ProtectedAccount):
        services.ban_permanently(boss.pk, moderator=moderator)
    assert refreshed(boss).ban_status == User.BanStatus.NONE
    other = UserFactory(staff=True, is_superuser=True)
    services.ban_permanently(boss.pk, moderator=other)
    assert refreshed(boss).ban_status == User.BanStatus.PERMANENT


@pytest.mark.django_db(transaction=True)
def test_ban_review_and_ip_bans_are_seen_by_a_fresh_server_process(live_stack):
    """Nothing lives in process memory: a separately started server reads the decision."""
    import json
    import urllib.error
    import urllib.request

    moderator = UserFactory(staff=True)
    user = banned_user()
    services.ban_permanently(user.pk, moderator=moderator)
    token = start_session(user, ip="10.1.1.1")  # a session made behind the ban's back

    stack = live_stack("asgi")
    request = urllib.request.Request(f"{stack.url}/api/me/ban", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = json.load(answer)
    assert (body["ban_status"], body["review_status"]) == ("permanent", "reviewed")

    services.ban_ip("127.0.0.1", moderator=moderator)
    signup = urllib.request.Request(
        f"{stack.url}/api/auth/signup",
        data=json.dumps({"name": "X", "gender": "female", "terms_accepted": True}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(signup, timeout=10)
    assert refused.value.code == 403
    assert json.load(refused.value)["error"]["code"] == "ip_banned"


def test_permanent_ban_never_ip_bans_loopback_addresses(moderator):
    user = banned_user()
    AuthSessionFactory(user=user, ip="127.0.0.1", is_active=False)
    AuthSessionFactory(user=user, ip="::1", is_active=False)

    services.ban_permanently(user.pk, moderator=moderator)

    assert set(IPBan.objects.values_list("ip", flat=True)) == {"203.0.113.10", "203.0.113.11"}
    details = AuditLog.objects.get(event_type="ban.permanent").details
    assert sorted(details["ip_bans_skipped"]) == ["127.0.0.1", "::1"]


@pytest.mark.django_db(transaction=True)
def test_ban_and_the_partner_ending_the_call_at_once_neither_deadlock_nor_double_end():
    """The report locks the reported user's live partner up front (users in id order, as
    end_room does), so the room ends once, whoever gets there first."""
    from chat.services import end_room_by_member

    for _ in range(8):  # a race: several rounds (without the up-front lock ~1 in 3 deadlocks)
        target = UserFactory(name="Target")
        partner = UserFactory(name="Partner")
        for i in range(3):
            file(reporter_of(target), target, f"198.51.100.{i + 1}")
        room = ActiveRoomFactory(user_1=partner, user_2=target)
        last = reporter_of(target)

        def work(i, room=room, partner=partner, target=target, last=last):
            if i == 0:
                return file(last, target, "198.51.100.9")
            return end_room_by_member(partner, room_id=room.pk)

        results = run_in_parallel(2, work)

        assert not any(isinstance(r, Exception) for r in results), results
        assert results[0].banned is True
        room.refresh_from_db()
        assert room.status == ActiveRoom.Status.ENDED and room.end_reason in ("banned", "user_ended")
        assert refreshed(target).ban_status == User.BanStatus.TEMPORARY
