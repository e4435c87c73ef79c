"""Admin for USC cards: registrations and scan attempts are searchable by last 4 and by user;
the users list filters "scanned, registration pending", and an action finalizes them."""

import pytest
from django.urls import reverse

from accounts.models import User
from moderation.models import AuditLog
from tests.factories import USCCardRegistrationFactory, USCScanAttemptFactory, UserFactory
from usc_cards.barcode import card_hash
from usc_cards.models import USCCardRegistration

pytestmark = pytest.mark.django_db


def changelist(model_label: str) -> str:
    return reverse(f"admin:{model_label}_changelist")


@pytest.fixture
def cards(db):
    """Alice registered (••••1828), Bob scanned and signed up but not finalized (••••2653)."""
    alice = UserFactory(name="Alice Trojan", permanent=True, email="alice@usc.edu", usc_id_hash=card_hash("2718281828"))
    USCCardRegistrationFactory(user=alice, usc_id_hash=alice.usc_id_hash, last4="1828")
    USCScanAttemptFactory(usc_id_hash=alice.usc_id_hash, last4="1828", outcome="accepted", resulted_in_signup=True)
    bob = UserFactory(name="Bob Bruin", usc_id_hash=card_hash("3141592653"))
    USCScanAttemptFactory(usc_id_hash=bob.usc_id_hash, last4="2653", outcome="accepted", resulted_in_signup=True)
    USCScanAttemptFactory(usc_id_hash=card_hash("1618033988"), last4="3988", outcome="card_limit")
    UserFactory(name="Carol NoCard")
    return alice, bob


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def test_registrations_are_searchable_by_last_4_and_by_user(admin_client, cards):
    alice, _ = cards
    url = changelist("usc_cards_usccardregistration")

    assert [r.user_id for r in listed(admin_client.get(url, {"q": "1828"}))] == [alice.pk]
    assert [r.user_id for r in listed(admin_client.get(url, {"q": "alice@usc.edu"}))] == [alice.pk]
    assert [r.user_id for r in listed(admin_client.get(url, {"q": "Trojan"}))] == [alice.pk]
    assert listed(admin_client.get(url, {"q": "2653"})) == []


def test_scan_attempts_are_searchable_by_last_4_and_by_the_card_holder(admin_client, cards):
    url = changelist("usc_cards_uscscanattempt")

    assert [a.last4 for a in listed(admin_client.get(url, {"q": "3988"}))] == ["3988"]
    assert [a.last4 for a in listed(admin_client.get(url, {"q": "Bob Bruin"}))] == ["2653"]
    assert [a.last4 for a in listed(admin_client.get(url, {"q": "alice@usc.edu"}))] == ["1828"]
    page = admin_client.get(url, {"outcome": "card_limit"})
    assert [a.last4 for a in listed(page)] == ["3988"]


def test_users_with_a_scan_but_no_registration_have_a_filter(admin_client, cards):
    alice, bob = cards
    url = changelist("accounts_user")

    assert [u.pk for u in listed(admin_client.get(url, {"usc_card": "pending"}))] == [bob.pk]
    assert [u.pk for u in listed(admin_client.get(url, {"usc_card": "registered"}))] == [alice.pk]
    assert bob.pk not in [u.pk for u in listed(admin_client.get(url, {"usc_card": "none"}))]


def test_the_finalize_action_writes_pending_registrations_with_the_moderator_as_actor(admin_client, admin_user, cards):
    _, bob = cards

    response = admin_client.post(
        changelist("accounts_user"),
        {"action": "finalize_usc_registrations", "_selected_action": [str(u.pk) for u in User.objects.all()]},
    )

    assert response.status_code == 302
    registration = USCCardRegistration.objects.get(user=bob)
    assert registration.last4 == "2653"
    audit = AuditLog.objects.get(event_type="usc_card.registered")
    assert (audit.actor_id, audit.target_id, audit.details["via"]) == (admin_user.pk, bob.pk, "admin")
    assert audit.ip == "127.0.0.1"  # the moderator's address, as on every moderation action's line
    assert USCCardRegistration.objects.count() == 2
