"""PostgreSQL itself refuses the USC card rows the data model forbids: a card ID is stored only as
an HMAC-SHA256 hex digest plus its last 4 digits, never raw. Each bad write runs in its own
atomic() block so the test transaction stays usable."""

import pytest
from django.db import IntegrityError, transaction

from tests.factories import USCCardRegistrationFactory, USCScanAttemptFactory, UserFactory, sha256_hex
from usc_cards.models import USCCardRegistration, USCScanAttempt

pytestmark = pytest.mark.django_db

NOT_DIGESTS = [
    "1234567890",  # the raw 10-digit card ID
    "12345678901234",  # the raw 14-digit barcode
    "A" * 64,  # upper-case hex
    "a" * 63,  # too short
    "z" * 64,  # not hex
]


# --- usc_card_registrations --------------------------------------------------------------


def test_card_registration_hash_is_unique():
    digest = sha256_hex("1234567890")
    USCCardRegistrationFactory(usc_id_hash=digest)
    with pytest.raises(IntegrityError, match="usc_card_registrations_usc_id_hash_key"), transaction.atomic():
        USCCardRegistrationFactory(usc_id_hash=digest)
    assert USCCardRegistration.objects.filter(usc_id_hash=digest).count() == 1


@pytest.mark.parametrize("value", NOT_DIGESTS)
def test_card_registration_hash_must_be_a_hex_sha256_digest(value):
    with pytest.raises(IntegrityError, match="usc_cards_registrations_hash_is_digest"), transaction.atomic():
        USCCardRegistrationFactory(usc_id_hash=value)
    assert not USCCardRegistration.objects.exists()


@pytest.mark.parametrize("last4", ["", "123", "12a4", "abcd", " 123"])
def test_card_registration_last4_must_be_4_digits(last4):
    with pytest.raises(IntegrityError, match="usc_cards_registrations_last4_digits"), transaction.atomic():
        USCCardRegistrationFactory(last4=last4)


def test_user_has_at_most_one_card_registration(alice):
    USCCardRegistrationFactory(user=alice)
    with pytest.raises(IntegrityError, match="usc_card_registrations_user_id_key"), transaction.atomic():
        USCCardRegistrationFactory(user=alice)
    assert USCCardRegistration.objects.filter(user=alice).count() == 1


def test_different_users_register_different_cards():
    USCCardRegistrationFactory(user=UserFactory(), last4="0001")
    USCCardRegistrationFactory(user=UserFactory(), last4="0001")
    assert USCCardRegistration.objects.filter(last4="0001").count() == 2


# --- usc_scan_attempts -------------------------------------------------------------------


@pytest.mark.parametrize("value", NOT_DIGESTS)
def test_scan_attempt_hash_must_be_a_hex_sha256_digest(value):
    with pytest.raises(IntegrityError, match="usc_cards_scan_attempts_hash_is_digest"), transaction.atomic():
        USCScanAttemptFactory(usc_id_hash=value)
    assert not USCScanAttempt.objects.exists()


def test_scan_attempt_hash_may_be_null_for_an_unreadable_scan():
    attempt = USCScanAttemptFactory(usc_id_hash=None, last4="", passed_validation=False)
    attempt.refresh_from_db()
    assert (attempt.usc_id_hash, attempt.last4) == (None, "")


def test_scan_attempts_of_one_card_may_repeat():
    digest = sha256_hex("1234567890")
    USCScanAttemptFactory(usc_id_hash=digest)
    USCScanAttemptFactory(usc_id_hash=digest)
    assert USCScanAttempt.objects.filter(usc_id_hash=digest).count() == 2


@pytest.mark.parametrize("last4", ["1", "123", "12a4", "abcd", "    "])
def test_scan_attempt_last4_must_be_empty_or_4_digits(last4):
    with pytest.raises(IntegrityError, match="usc_cards_scan_attempts_last4_digits"), transaction.atomic():
        USCScanAttemptFactory(last4=last4)


def test_scan_attempt_validation_errors_must_be_a_json_array():
    with pytest.raises(IntegrityError, match="usc_cards_scan_attempts_errors_array"), transaction.atomic():
        USCScanAttemptFactory(validation_errors={"checksum": "bad"})
