"""Appeals: one per strike within 20 days, ≤ 2,000 characters; decided by another moderator;
overturning reverses the action atomically and counts against the reporters' accuracy."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from moderation import appeals, case_actions, trust
from moderation.models import Appeal, AuditLog, Case, Report, Strike, StrikePreset, UserBan
from tests.api_support import signed_in
from tests.factories import UserFactory
from tests.moderation_support import file, trusted_reporter


@pytest.fixture
def banned_bob(bob, moderator):
    preset = StrikePreset.objects.create(title="Test preset", text="Harassment during a call.")
    for n in (1, 2):
        file(trusted_reporter(bob), bob, ip=f"203.0.{n}.9")
    case = Case.objects.get(reported=bob)
    strike = case_actions.decide_case(case.pk, moderator=moderator, decision="ban", preset_id=preset.pk).strike
    return bob, strike


@pytest.fixture
def other_moderator(db):
    from moderation.roles import ensure_moderators_group

    user = UserFactory(staff=True, name="Second mod")
    user.groups.add(ensure_moderators_group())
    return user


def appeal(user, strike, text="I did not do this."):
    return signed_in(user).post(f"/api/me/strikes/{strike.pk}/appeal", {"text": text}, format="json")


def test_banned_user_appeals_once_and_a_second_appeal_is_409(banned_bob):
    bob, strike = banned_bob
    first = appeal(bob, strike)
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "pending"
    second = appeal(bob, strike)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_appealed"
    assert Appeal.objects.count() == 1


def test_appeal_past_twenty_days_is_409_with_the_date(banned_bob):
    bob, strike = banned_bob
    User.objects.filter(pk=bob.pk).update(
        account_type="permanent", email="bob@usc.edu", account_expires_at=None
    )  # outlives 20 days
    with time_machine.travel(strike.created_at + timedelta(days=20, minutes=1)):
        response = appeal(bob, strike)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "appeal_window_closed"
    deadline = strike.created_at + timedelta(days=20)
    assert error["closed_at"] == deadline.isoformat()
    assert f"{deadline:%d %B %Y}" in error["message"]


def test_appeal_text_over_two_thousand_characters_is_400(banned_bob):
    bob, strike = banned_bob
    response = appeal(bob, strike, text="x" * 2001)
    assert response.status_code == 400
    assert "text" in response.json()["error"]["fields"]


def test_someone_elses_strike_is_404(banned_bob, stranger):
    _, strike = banned_bob
    assert appeal(stranger, strike).status_code == 404


def test_the_moderator_who_acted_cannot_decide_the_appeal(banned_bob, moderator):
    bob, strike = banned_bob
    appeal(bob, strike)
    with pytest.raises(appeals.OwnAction):
        appeals.decide_appeal(Appeal.objects.get().pk, moderator=moderator, overturn=True)
    assert Appeal.objects.get().status == "pending"


def test_overturning_lifts_the_ban_marks_the_strike_and_lowers_reporter_accuracy(
    banned_bob, other_moderator, django_capture_on_commit_callbacks, mailoutbox
):
    bob, strike = banned_bob
    User.objects.filter(pk=bob.pk).update(email="bob@usc.edu", email_verified=True)
    appeal(bob, strike)
    reporter = Report.objects.filter(reported=bob).first().reporter
    before = trust.standing_of(reporter, now=timezone.now()).weight

    with django_capture_on_commit_callbacks(execute=True):
        decided = appeals.decide_appeal(Appeal.objects.get().pk, moderator=other_moderator, overturn=True)

    assert decided.status == "overturned"
    assert User.objects.get(pk=bob.pk).ban_status == "none"
    assert not UserBan.objects.filter(user=bob).exists()
    assert Strike.objects.get(pk=strike.pk).status == "overturned"
    assert set(Report.objects.filter(reported=bob).values_list("outcome", flat=True)) == {"rejected"}
    assert trust.standing_of(reporter, now=timezone.now()).weight < before
    assert AuditLog.objects.filter(event_type="appeal.overturned", actor=other_moderator).exists()
    assert len(mailoutbox) == 1 and "reversed" in mailoutbox[0].body


def test_a_failing_reversal_leaves_everything_as_it_was(banned_bob, other_moderator, monkeypatch):
    bob, strike = banned_bob
    appeal(bob, strike)

    def boom(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(appeals, "record_audit", boom)
    with pytest.raises(RuntimeError):
        appeals.decide_appeal(Appeal.objects.get().pk, moderator=other_moderator, overturn=True)

    assert User.objects.get(pk=bob.pk).ban_status == "permanent"
    assert Strike.objects.get(pk=strike.pk).status == "active"
    assert Appeal.objects.get().status == "pending"
    assert set(Report.objects.filter(reported=bob).values_list("outcome", flat=True)) == {"upheld"}


def test_upholding_needs_a_reason_and_keeps_the_ban(banned_bob, other_moderator):
    bob, strike = banned_bob
    appeal(bob, strike)
    with pytest.raises(appeals.InvalidInput):
        appeals.decide_appeal(Appeal.objects.get().pk, moderator=other_moderator, overturn=False)
    decided = appeals.decide_appeal(
        Appeal.objects.get().pk, moderator=other_moderator, overturn=False, reason="The messages show it."
    )
    assert decided.status == "upheld"
    assert User.objects.get(pk=bob.pk).ban_status == "permanent"
    body = signed_in(bob).get("/api/me/strikes").json()["results"][0]
    assert body["appeal"]["status"] == "upheld" and body["appeal"]["decision_reason"] == "The messages show it."
