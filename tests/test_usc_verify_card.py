"""POST /api/usc/verify-card: a scan gives a signed 30-minute token carrying the
card's HMAC; every attempt, refused or not, writes a usc_scan_attempts row (HMAC + last 4
only); 10 scans per 10 minutes per IP (Redis); an IP that scanned 3 distinct valid cards in
24 h gets 429 for another card (counted in PostgreSQL); a registered card gets 409."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache

from moderation.models import IPBan
from tests.concurrency import run_in_parallel
from tests.factories import USCCardRegistrationFactory, UserFactory
from tests.usc_support import CARD, CARD_BARCODE, FOURTH_CARD, IP, OTHER_CARD, THIRD_CARD, error_code, scan
from usc_cards.barcode import card_hash
from usc_cards.models import USCScanAttempt
from usc_cards.tokens import SCAN_TOKEN_SALT, read_scan_token

pytestmark = pytest.mark.django_db

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


def test_a_valid_scan_gives_a_scan_token_carrying_the_hmac_and_last_4():
    response = scan(CARD_BARCODE)

    assert response.status_code == 200
    body = response.json()
    assert (body["last4"], body["barcode_format"]) == ("1828", "digits14")
    claim = read_scan_token(body["scan_token"])
    assert claim.usc_id_hash == card_hash(CARD)
    assert claim.last4 == "1828"
    payload = signing.loads(body["scan_token"], salt=SCAN_TOKEN_SALT)
    assert CARD not in str(payload) and CARD not in body["scan_token"]


def test_the_scan_token_lasts_30_minutes():
    with time_machine.travel(T0, tick=False):
        body = scan(CARD).json()

    assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(minutes=30)


def test_every_scan_writes_an_attempt_row_with_the_hmac_and_last_4_only():
    scan(CARD, ip="198.51.100.9")

    attempt = USCScanAttempt.objects.get()
    assert attempt.usc_id_hash == card_hash(CARD)
    assert attempt.last4 == "1828"
    assert attempt.passed_validation is True
    assert attempt.validation_errors == []
    assert (attempt.purpose, attempt.outcome) == ("signup", "accepted")
    assert attempt.ip == "198.51.100.9"
    assert not attempt.resulted_in_signup and not attempt.resulted_in_login


def test_an_invalid_scan_is_refused_and_its_row_says_why():
    response = scan("1234567890")

    assert response.status_code == 400
    assert error_code(response) == "invalid_card"
    assert "barcode" in response.json()["error"]["fields"]
    attempt = USCScanAttempt.objects.get()
    assert attempt.passed_validation is False
    assert attempt.validation_errors == ["sequential_digits"]
    assert attempt.outcome == "invalid"


def test_a_scan_of_garbage_writes_a_row_without_a_hash():
    response = scan("hello there, scanner")

    assert response.status_code == 400
    attempt = USCScanAttempt.objects.get()
    assert (attempt.usc_id_hash, attempt.last4, attempt.barcode_format) == (None, "", "unknown")
    assert attempt.validation_errors == ["wrong_digit_count"]


def test_the_eleventh_scan_in_10_minutes_from_one_ip_gets_429_with_retry_after():
    for _ in range(10):
        assert scan(CARD).status_code == 200

    response = scan(CARD)

    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 600
    assert USCScanAttempt.objects.count() == 11
    assert USCScanAttempt.objects.filter(outcome="rate_limited").count() == 1
    assert scan(CARD, ip="198.51.100.200").status_code == 200  # another address is not limited


def test_invalid_scans_count_towards_the_10_per_10_minutes():
    for _ in range(10):
        scan("0000000000")

    assert scan(CARD).status_code == 429


def test_a_fourth_distinct_card_from_one_ip_in_24_hours_gets_429():
    with time_machine.travel(T0, tick=False):
        for card in (CARD, OTHER_CARD, THIRD_CARD):
            assert scan(card).status_code == 200
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        response = scan(FOURTH_CARD)

    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert int(response["Retry-After"]) == 23 * 3600 + 1
    assert USCScanAttempt.objects.filter(outcome="card_limit").count() == 1


def test_rescanning_one_of_the_three_cards_stays_allowed():
    for card in (CARD, OTHER_CARD, THIRD_CARD):
        scan(card)

    assert scan(OTHER_CARD).status_code == 200
    assert scan(FOURTH_CARD, ip="203.0.113.5").status_code == 200  # the count is per IP


def test_the_distinct_card_count_is_durable_in_the_database_not_in_redis():
    for card in (CARD, OTHER_CARD, THIRD_CARD):
        scan(card)
    cache.clear()  # every Redis counter gone, as after a Redis restart

    assert scan(FOURTH_CARD).status_code == 429


def test_refused_scans_do_not_count_as_scanned_cards_and_the_count_lapses_after_24_hours():
    with time_machine.travel(T0, tick=False):
        for card in (CARD, OTHER_CARD, THIRD_CARD):
            scan(card)
        assert scan(FOURTH_CARD).status_code == 429
    with time_machine.travel(T0 + timedelta(hours=24, seconds=1), tick=False):
        assert scan(FOURTH_CARD).status_code == 200


def test_a_registered_card_gets_409_card_registered():
    USCCardRegistrationFactory(usc_id_hash=card_hash(CARD))

    response = scan(CARD)

    assert response.status_code == 409
    assert error_code(response) == "card_registered"
    assert USCScanAttempt.objects.get().outcome == "card_registered"


def test_a_card_held_by_a_sign_up_not_yet_finalized_also_gets_409():
    UserFactory(usc_id_hash=card_hash(CARD))

    assert error_code(scan(CARD)) == "card_registered"


def test_a_banned_ip_gets_403_and_the_attempt_is_still_logged():
    IPBan.objects.create(ip=IP, reason="abuse")

    response = scan(CARD)

    assert response.status_code == 403
    assert error_code(response) == "ip_banned"
    assert USCScanAttempt.objects.get().outcome == "ip_banned"


@pytest.mark.django_db(transaction=True)
def test_parallel_scans_of_two_new_cards_cannot_both_pass_the_distinct_card_limit():
    scan(CARD)
    scan(OTHER_CARD)

    results = run_in_parallel(2, lambda i: scan([THIRD_CARD, FOURTH_CARD][i]).status_code)

    assert sorted(results) == [200, 429]
    accepted = USCScanAttempt.objects.filter(ip=IP, outcome="accepted").values("usc_id_hash").distinct()
    assert accepted.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_10_per_10_minutes_limit_is_one_count_shared_by_parallel_connections():
    results = run_in_parallel(12, lambda i: scan(CARD).status_code)

    assert sorted(results) == [200] * 10 + [429] * 2
    assert USCScanAttempt.objects.filter(outcome="rate_limited").count() == 2
