"""Reports weighed by the reporter's standing: a wave of fresh accounts does not ban, trusted
members still do, linked reporters count once, minors and threats top the queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from moderation import trust
from moderation.models import AuditLog, Case, Report, Strike, UserBan
from moderation.queue import list_queue
from tests.api_support import signed_in
from tests.factories import ActiveRoomFactory, InviteCodeFactory, InviteCodeUseFactory, ReportFactory, UserFactory
from tests.moderation_support import file, fresh_reporter, trusted_reporter, with_selfie


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def status_of(user):
    return User.objects.get(pk=user.pk).ban_status


def test_six_fresh_guests_from_six_addresses_reporting_a_profile_do_not_ban(bob):
    with_selfie(bob)
    for n in range(6):
        response = signed_in(fresh_reporter()).post(
            "/api/reports",
            {"reported_user_id": str(bob.pk), "category": "profile", "text": "fake"},
            format="json",
            REMOTE_ADDR=f"198.51.{100 + n}.7",
        )
        assert response.status_code == 201, response.content

    assert status_of(bob) == User.BanStatus.NONE
    case = Case.objects.get(reported=bob)
    assert case.status == "open" and Report.objects.filter(case=case).count() == 6
    assert case.weight == pytest.approx(0.1)  # one wave: 0.2 x 0.5 (a profile, no call), counted once
    assert not Strike.objects.exists()


def test_six_fresh_unlinked_guests_still_do_not_ban(bob, settings):
    settings.REPORT_LINK_WAVE_MINUTES = 0  # even if the wave were not noticed
    with_selfie(bob)
    for n in range(6):
        file(fresh_reporter(), bob, ip=f"198.51.{100 + n}.7", category="profile")
    assert status_of(bob) == User.BanStatus.NONE
    assert Case.objects.get(reported=bob).weight == pytest.approx(0.6)


def test_three_trusted_members_reporting_harassment_within_a_day_ban_temporarily(bob):
    results = [file(trusted_reporter(bob), bob, ip=f"203.0.{n}.9") for n in (1, 2, 3)]

    assert [r.banned for r in results] == [False, False, True]
    assert status_of(bob) == User.BanStatus.TEMPORARY
    case = Case.objects.get(reported=bob)
    assert case.weight == pytest.approx(2.7)  # 3 x (0.2 + 0.2 + 0.2 + 0.3)
    assert UserBan.objects.get(user=bob).review_status == "pending"
    strike = Strike.objects.get(user=bob)
    assert (strike.action, strike.automatic, strike.created_by) == ("suspension", True, None)
    assert strike.reason == "Reported by several members; a moderator will review."
    assert strike.reports.count() == 3
    assert AuditLog.objects.get(event_type="ban.temporary").details["weight"] == pytest.approx(2.7)


def test_two_trusted_members_alone_do_not_ban(bob):
    for n in (1, 2):
        file(trusted_reporter(bob), bob, ip=f"203.0.{n}.9")
    assert status_of(bob) == User.BanStatus.NONE


def test_reporters_on_one_network_count_once(bob):
    for host in (1, 2, 3):
        file(trusted_reporter(bob), bob, ip=f"203.0.113.{host}")  # one /24
    assert status_of(bob) == User.BanStatus.NONE
    assert Case.objects.get(reported=bob).weight == pytest.approx(0.9)


def test_reporters_invited_by_one_person_count_once(bob):
    code = InviteCodeFactory(user_code=True)
    for n in (1, 2, 3):
        reporter = trusted_reporter(bob)
        InviteCodeUseFactory(code=code, user=reporter)
        file(reporter, bob, ip=f"203.0.{n}.9")
    assert status_of(bob) == User.BanStatus.NONE
    assert Case.objects.get(reported=bob).weight == pytest.approx(0.9)


def test_a_reporter_whose_reports_were_rejected_weighs_less(db):
    now = timezone.now()
    reporter = UserFactory(permanent=True, created_at=now - timedelta(days=60), session_count=5, successful_sessions=5)
    assert trust.standing_of(reporter, now=now).weight == pytest.approx(0.9)
    for _ in range(3):
        ReportFactory(reporter=reporter, outcome=Report.Outcome.REJECTED)
    assert trust.standing_of(reporter, now=now).weight == pytest.approx(0.9 * 2 / 5)


def test_reports_about_a_minor_or_a_threat_go_to_the_top_of_the_queue(alice, bob):
    heavy = UserFactory()
    for n in (1, 2):
        file(trusted_reporter(heavy), heavy, ip=f"203.0.{n}.9")  # 1.8, not banned
    file(trusted_reporter(bob), bob, ip="203.0.40.9")  # 0.9
    light = fresh_reporter()
    ActiveRoomFactory(user_1=light, user_2=alice, ended=True)
    file(light, alice, ip="198.51.100.1", category="threat")  # 0.2, but a threat

    queue = list(list_queue())

    assert [c.reported_id for c in queue] == [alice.pk, heavy.pk, bob.pk]
    assert queue[0].urgent is True


def test_screening_opens_a_case_with_no_reporter_and_its_evidence_without_banning(bob):
    from moderation.cases import open_case

    for n in range(3):
        result = open_case(
            bob, source="screening", category="nudity", evidence={"detector": "nudity", "score": 0.97, "n": n}
        )
    assert result.banned is False and User.objects.get(pk=bob.pk).ban_status == "none"
    case = Case.objects.get(reported=bob)
    reports = Report.objects.filter(case=case).order_by("pk")
    assert [r.reporter for r in reports] == [None, None, None]
    assert reports[0].source == "screening" and reports[0].evidence["score"] == 0.97
    assert case.weight == 0.0  # REPORT_WEIGHT_SCREENING: queued, never a ban on its own
    audit = AuditLog.objects.filter(event_type="report.created", actor=None).first()
    assert audit.details["source"] == "screening"


def test_a_screening_report_joins_the_members_case(bob):
    from moderation.cases import open_case

    file(trusted_reporter(bob), bob, ip="203.0.1.9")
    open_case(bob, source="screening", category="threat", evidence={"pattern": "kill"})
    case = Case.objects.get(reported=bob)
    assert Report.objects.filter(case=case).count() == 2
    assert case.urgent is True
