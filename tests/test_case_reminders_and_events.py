"""The hourly service-level reminder to moderators, the queue's age, and the live events of
strikes, report outcomes and appeal decisions matching the AsyncAPI models."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from chat import outbound
from moderation import appeals, case_actions, queue
from moderation.models import Appeal, Case, StrikePreset
from tests.factories import UserFactory
from tests.moderation_support import file, fresh_reporter, trusted_reporter


def test_cases_past_their_service_level_are_emailed_once_an_hour(bob, alice, moderator, mailoutbox):
    file(trusted_reporter(bob), bob, ip="203.0.1.9")  # ordinary: 24 h
    light = fresh_reporter()
    from tests.factories import ActiveRoomFactory

    ActiveRoomFactory(user_1=light, user_2=alice, ended=True)
    file(light, alice, ip="198.51.100.1", category="threat")  # urgent: 1 h
    now = timezone.now()

    assert queue.remind_overdue_cases(now + timedelta(minutes=30)) == 0
    assert queue.remind_overdue_cases(now + timedelta(hours=2)) == 1  # the threat only
    assert "minor or threat" in mailoutbox[-1].body and moderator.email in mailoutbox[-1].to
    assert queue.remind_overdue_cases(now + timedelta(hours=2, minutes=30)) == 0  # reminded within the hour
    assert queue.remind_overdue_cases(now + timedelta(hours=25)) == 2
    age = queue.queue_age(now + timedelta(hours=25))
    assert (age["open"], age["urgent"], age["overdue"]) == (2, 1, 2) and age["oldest_hours"] >= 25


def test_decided_cases_are_not_reminded(bob, moderator, mailoutbox):
    file(trusted_reporter(bob), bob, ip="203.0.1.9")
    case_actions.decide_case(Case.objects.get().pk, moderator=moderator, decision="dismiss")
    assert queue.remind_overdue_cases(timezone.now() + timedelta(days=3)) == 0
    assert not mailoutbox


def test_events_of_strikes_outcomes_and_appeals_match_their_asyncapi_models(bob, moderator, monkeypatch):
    sent = []
    for module in ("moderation.strikes", "moderation.case_actions", "moderation.appeals"):
        monkeypatch.setattr(f"{module}.send_to_users", lambda ids, event: sent.append(event))
    preset = StrikePreset.objects.create(title="Test", text="Reason.")
    file(trusted_reporter(bob), bob, ip="203.0.1.9")
    with time_machine.travel(timezone.now(), tick=False):
        strike = case_actions.decide_case(
            Case.objects.get().pk, moderator=moderator, decision="suspend", days=7, preset_id=preset.pk
        ).strike
    appeals.file_appeal(bob, strike.pk, text="please")
    other = UserFactory(staff=True)
    appeals.decide_appeal(Appeal.objects.get().pk, moderator=other, overturn=True)

    models = {"strike.new": outbound.StrikeNew, "report.outcome": outbound.ReportOutcomeEvent}
    models["appeal.decided"] = outbound.AppealDecidedEvent
    assert sorted(e["type"] for e in sent) == ["appeal.decided", "report.outcome", "strike.new"]
    for event in sent:
        models[event["type"]].model_validate(event)
