"""Strikes with reasons and the moderators' one-click decisions on a case: every action a
strike, the user reads theirs, reporters learn the outcome, nobody decides on their own
report, two moderators at once give one outcome, suspensions end."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from moderation import case_actions
from moderation.case_actions import CaseClosed, OwnReport
from moderation.models import AuditLog, Case, CaseNote, Report, Strike, StrikePreset
from tests.api_support import signed_in
from tests.concurrency import run_in_parallel
from tests.factories import ActiveRoomFactory, UserFactory
from tests.moderation_support import file, trusted_reporter


@pytest.fixture
def preset(db):
    return StrikePreset.objects.create(title="Test preset", text="You harassed another member during a call.")


def reported_case(target, *, reporters=1):
    for n in range(reporters):
        file(trusted_reporter(target), target, ip=f"203.0.{n + 1}.9")
    return Case.objects.get(reported=target, status="open")


def test_a_warning_is_a_strike_with_the_preset_reason_and_the_reports_it_answers(bob, moderator, preset):
    case = reported_case(bob)
    result = case_actions.decide_case(
        case.pk, moderator=moderator, decision="warn", preset_id=preset.pk, text="Be kind"
    )

    strike = result.strike
    assert (strike.action, strike.preset, strike.created_by, strike.case) == ("warning", preset, moderator, case)
    assert strike.reason == "You harassed another member during a call.\nBe kind"
    assert list(strike.reports.all()) == list(Report.objects.filter(case=case))
    case.refresh_from_db()
    assert (case.status, case.outcome, case.closed_by) == ("closed", "actioned", moderator)
    assert AuditLog.objects.filter(event_type="case.warn", actor=moderator).exists()
    assert AuditLog.objects.filter(event_type="strike.created", target=bob).exists()


def test_suspension_for_seven_days_bans_until_then_and_the_sweep_lifts_it(bob, moderator, preset):
    case = reported_case(bob)
    strike = case_actions.decide_case(
        case.pk, moderator=moderator, decision="suspend", days=7, preset_id=preset.pk
    ).strike
    assert User.objects.get(pk=bob.pk).ban_status == "temporary"
    assert strike.ends_at == strike.created_at + timedelta(days=7)

    assert case_actions.lift_ended_suspensions(now=timezone.now() + timedelta(days=6)) == 0
    assert case_actions.lift_ended_suspensions(now=timezone.now() + timedelta(days=7, minutes=1)) == 1
    assert User.objects.get(pk=bob.pk).ban_status == "none"


def test_suspension_days_other_than_1_7_30_are_refused(bob, moderator, preset):
    case = reported_case(bob)
    with pytest.raises(case_actions.InvalidInput):
        case_actions.decide_case(case.pk, moderator=moderator, decision="suspend", days=3, preset_id=preset.pk)


def test_a_ban_decision_upholds_the_automatic_one_and_supersedes_its_strike(bob, moderator, preset):
    case = reported_case(bob, reporters=3)  # automatic temporary ban
    auto = Strike.objects.get(user=bob, automatic=True)
    case_actions.decide_case(case.pk, moderator=moderator, decision="ban", preset_id=preset.pk)
    assert User.objects.get(pk=bob.pk).ban_status == "permanent"
    auto.refresh_from_db()
    assert auto.status == "superseded"
    assert Strike.objects.get(user=bob, automatic=False).action == "ban"


def test_dismissing_lifts_the_automatic_ban_and_tells_reporters_no_violation(
    bob, moderator, django_capture_on_commit_callbacks
):
    case = reported_case(bob, reporters=3)
    reporters = [r.reporter for r in Report.objects.filter(case=case)]
    with django_capture_on_commit_callbacks() as callbacks:
        case_actions.decide_case(case.pk, moderator=moderator, decision="dismiss")
    assert User.objects.get(pk=bob.pk).ban_status == "none"
    assert Strike.objects.get(user=bob).status == "overturned"
    assert set(Report.objects.filter(case=case).values_list("outcome", flat=True)) == {"rejected"}
    assert len(callbacks) >= 3  # one report.outcome event per reporter (after commit)

    body = signed_in(reporters[0]).get("/api/me/report-outcomes").json()
    assert body["results"][0]["outcome"] == "rejected"
    assert body["results"][0]["message"] == "We reviewed your report and found no violation of the rules."
    assert "ban" not in str(body).lower()  # never the sanction's details


def test_reporter_is_told_action_was_taken_without_the_sanction(bob, moderator, preset):
    case = reported_case(bob)
    reporter = Report.objects.get(case=case).reporter
    case_actions.decide_case(case.pk, moderator=moderator, decision="suspend", days=30, preset_id=preset.pk)
    body = signed_in(reporter).get("/api/me/report-outcomes").json()
    assert body["results"][0]["outcome"] == "upheld"
    assert body["results"][0]["message"].startswith("We took action on your report")
    assert "suspen" not in str(body).lower()


def test_a_moderator_cannot_decide_a_case_holding_their_own_report(bob, moderator, preset):
    ActiveRoomFactory(user_1=moderator, user_2=bob, ended=True)
    file(moderator, bob, ip="203.0.9.9")
    case = Case.objects.get(reported=bob)
    with pytest.raises(OwnReport):
        case_actions.decide_case(case.pk, moderator=moderator, decision="warn", preset_id=preset.pk)
    assert Case.objects.get(pk=case.pk).status == "open"


def test_a_decided_case_cannot_be_decided_again(bob, moderator, preset):
    case = reported_case(bob)
    case_actions.decide_case(case.pk, moderator=moderator, decision="dismiss")
    with pytest.raises(CaseClosed):
        case_actions.decide_case(case.pk, moderator=moderator, decision="warn", preset_id=preset.pk)


def test_claim_and_notes_are_recorded(bob, moderator):
    case = reported_case(bob)
    assert case_actions.claim_case(case.pk, moderator=moderator).claimed_by == moderator
    note = case_actions.add_case_note(case.pk, moderator=moderator, text="asked the reporter for details")
    assert CaseNote.objects.get(pk=note.pk).author == moderator
    assert AuditLog.objects.filter(event_type="case.claimed").exists()


@pytest.mark.django_db(transaction=True)
def test_two_moderators_deciding_one_case_at_once_give_one_outcome():
    from moderation.roles import ensure_moderators_group

    target = UserFactory()
    case = reported_case(target)
    preset = StrikePreset.objects.create(title="Test spam", text="Spam.")
    mods = [UserFactory(staff=True) for _ in range(2)]
    for mod in mods:
        mod.groups.add(ensure_moderators_group())
    decisions = ["ban", "dismiss"]

    results = run_in_parallel(
        2,
        lambda i: case_actions.decide_case(case.pk, moderator=mods[i], decision=decisions[i], preset_id=preset.pk),
    )

    winners = [r for r in results if isinstance(r, case_actions.CaseDecision)]
    losers = [r for r in results if isinstance(r, CaseClosed)]
    assert len(winners) == 1 and len(losers) == 1, results
    case.refresh_from_db()
    assert case.status == "closed"
    assert AuditLog.objects.filter(event_type__in=["case.ban", "case.dismiss"]).count() == 1
    status = User.objects.get(pk=target.pk).ban_status
    assert status == ("permanent" if case.outcome == "actioned" else "none")


def test_my_strikes_lists_reason_end_and_appeal_deadline_for_a_banned_user(bob, moderator, preset):
    case = reported_case(bob)
    with time_machine.travel(timezone.now(), tick=False):
        strike = case_actions.decide_case(
            case.pk, moderator=moderator, decision="suspend", days=1, preset_id=preset.pk
        ).strike
    response = signed_in(bob).get("/api/me/strikes")
    assert response.status_code == 200
    item = response.json()["results"][0]
    assert item["id"] == strike.pk and item["action"] == "suspension"
    assert item["reason"] == preset.text and item["ends_at"] is not None
    assert item["appeal"] is None and item["appeal_until"]


def test_strangers_see_only_their_own_strikes(bob, stranger, moderator, preset):
    case = reported_case(bob)
    case_actions.decide_case(case.pk, moderator=moderator, decision="warn", preset_id=preset.pk)
    assert signed_in(stranger).get("/api/me/strikes").json()["results"] == []
    assert signed_in(stranger).get("/api/me/strikes").status_code == 200


def test_a_ban_from_the_review_page_is_a_strike_and_a_vindication_voids_the_automatic_one(moderator):
    from moderation import services

    banned, vindicated = UserFactory(), UserFactory()
    for target in (banned, vindicated):
        reported_case(target, reporters=3)  # automatic ban and its strike
    services.ban_permanently(banned.pk, moderator=moderator, reason="threats")
    services.vindicate(vindicated.pk, moderator=moderator)

    assert Strike.objects.get(user=banned, automatic=False).action == "ban"
    assert Strike.objects.get(user=banned, automatic=True).status == "superseded"
    assert Strike.objects.get(user=vindicated).status == "overturned"


def test_a_moderator_cannot_ban_or_vindicate_from_the_review_page_someone_they_reported(bob, moderator):
    from moderation import services
    from moderation.errors import OwnReport as ReviewPageOwnReport

    ActiveRoomFactory(user_1=moderator, user_2=bob, ended=True)
    file(moderator, bob, ip="203.0.9.9")
    with pytest.raises(ReviewPageOwnReport):
        services.ban_permanently(bob.pk, moderator=moderator, reason="mine")
    assert User.objects.get(pk=bob.pk).ban_status == "none"
    assert not Strike.objects.filter(user=bob).exists()
