"""Card login: a card number alone is not a credential. Scan → a 6-digit code to the
account's verified email → scan + code → a session (single-session rule), with the card's
login counters updated. Accounts without a verified email, expired guests, banned users and
banned IPs are refused with clear errors; the scan limits of verify-card apply."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuthSession, User
from accounts.services.sessions import start_session
from moderation.models import AuditLog, IPBan
from tests.api_support import api
from tests.concurrency import run_in_parallel
from tests.factories import USCCardRegistrationFactory, UserFactory
from tests.usc_support import (
    CARD,
    CARD_BARCODE,
    OTHER_CARD,
    error_code,
    last_emailed_code,
    login_complete,
    login_start,
    scan,
)
from usc_cards import selectors
from usc_cards.barcode import card_hash
from usc_cards.models import USCCardRegistration, USCScanAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_holder(db) -> User:
    user = UserFactory(permanent=True, email="tommy@usc.edu", usc_id_hash=card_hash(CARD), access_status="qr_verified")
    USCCardRegistrationFactory(user=user, usc_id_hash=card_hash(CARD), last4="1828")
    return user


def log_in_by_card(barcode: str = CARD):
    assert login_start(barcode).status_code == 202
    return login_complete(last_emailed_code(), barcode)


def test_card_login_emails_a_code_to_the_verified_address_and_gives_no_session(card_holder):
    response = login_start(CARD_BARCODE)

    assert response.status_code == 202
    assert response.json()["email_hint"] == "t•••@usc.edu"
    assert "token" not in response.json()
    assert [message.to for message in mail.outbox] == [["tommy@usc.edu"]]
    assert not AuthSession.objects.filter(user=card_holder).exists()
    assert USCScanAttempt.objects.get().outcome == "code_sent"


def test_scan_plus_code_gives_a_session_and_counts_the_card_login(card_holder):
    old_session = start_session(card_holder, ip="127.0.0.1")

    response = log_in_by_card()

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(card_holder.pk)
    assert api(body["token"]).get("/api/me").status_code == 200
    assert api(old_session).get("/api/me").status_code == 401  # single-session rule
    assert AuthSession.objects.filter(user=card_holder, is_active=True).count() == 1
    registration = USCCardRegistration.objects.get(user=card_holder)
    assert registration.total_card_logins == 1
    assert registration.last_login_via_card_at is not None
    attempt = USCScanAttempt.objects.get(purpose="login_complete")
    assert (attempt.outcome, attempt.resulted_in_login) == ("logged_in", True)
    assert not USCScanAttempt.objects.filter(purpose="login_start", resulted_in_login=True).exists()


def test_card_logins_are_counted_each_time(card_holder):
    log_in_by_card()
    log_in_by_card(CARD_BARCODE)

    assert USCCardRegistration.objects.get(user=card_holder).total_card_logins == 2


def test_a_card_number_alone_never_yields_a_session(card_holder):
    assert login_complete("000000").status_code == 400  # no code was ever sent
    login_start()
    wrong = next(code for code in ("111111", "222222") if code != last_emailed_code())

    response = login_complete(wrong)

    assert response.status_code == 400
    assert error_code(response) == "invalid_code"
    assert not AuthSession.objects.filter(user=card_holder).exists()
    assert USCScanAttempt.objects.filter(outcome="wrong_code").count() == 2
    assert USCCardRegistration.objects.get().total_card_logins == 0


def test_five_wrong_codes_burn_the_code(card_holder, settings):
    settings.USC_SCANS_PER_WINDOW = 100
    login_start()
    code = last_emailed_code()
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        assert login_complete(wrong).status_code == 400

    assert login_complete(code).status_code == 400
    assert not AuthSession.objects.filter(user=card_holder).exists()


def test_the_code_of_one_card_holder_does_not_log_in_another(card_holder):
    other = UserFactory(permanent=True, usc_id_hash=card_hash(OTHER_CARD))
    USCCardRegistrationFactory(user=other, usc_id_hash=card_hash(OTHER_CARD))
    login_start(CARD)

    response = login_complete(last_emailed_code(), OTHER_CARD)

    assert error_code(response) == "invalid_code"
    assert not AuthSession.objects.exists()


def test_an_unregistered_card_gets_404(card_holder):
    response = login_start(OTHER_CARD)

    assert response.status_code == 404
    assert error_code(response) == "card_not_registered"
    assert USCScanAttempt.objects.get().outcome == "not_registered"
    assert not mail.outbox


def test_an_account_without_a_verified_email_cannot_log_in_by_card(card_holder):
    User.objects.filter(pk=card_holder.pk).update(
        email=None, email_verified=False, account_type="guest", account_expires_at=timezone.now() + timedelta(days=1)
    )

    response = login_start()

    assert response.status_code == 409
    assert error_code(response) == "no_verified_email"
    assert "verified email" in response.json()["error"]["message"]
    assert not mail.outbox
    assert error_code(login_complete("123456")) == "no_verified_email"


def test_an_expired_guest_card_login_gets_410(card_holder):
    User.objects.filter(pk=card_holder.pk).update(
        account_type="guest", account_expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = login_start()

    assert response.status_code == 410
    assert error_code(response) == "account_expired"
    assert not mail.outbox


def test_a_banned_user_gets_403_with_the_ban_status_and_an_audit_row(card_holder):
    login_start()
    code = last_emailed_code()
    User.objects.filter(pk=card_holder.pk).update(ban_status="temporary")

    response = login_complete(code)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "banned"
    assert response.json()["error"]["ban_status"] == "temporary"
    assert not AuthSession.objects.filter(user=card_holder).exists()
    audit = AuditLog.objects.get(event_type="auth.banned_login_refused")
    assert audit.target_id == card_holder.pk and audit.details["via"] == "usc_card"
    assert error_code(login_start()) == "banned"


def test_a_banned_ip_gets_403(card_holder):
    IPBan.objects.create(ip="198.51.100.7", reason="abuse")

    assert error_code(login_start()) == "ip_banned"
    assert error_code(login_complete("123456")) == "ip_banned"
    assert not mail.outbox
    assert set(USCScanAttempt.objects.values_list("outcome", flat=True)) == {"ip_banned"}


def test_an_invalid_barcode_gets_400(card_holder):
    response = login_start("1111111111")

    assert response.status_code == 400
    assert error_code(response) == "invalid_card"


def test_card_login_scans_share_the_10_per_10_minutes_limit(card_holder):
    for _ in range(9):
        scan(OTHER_CARD)
    assert login_start().status_code == 202

    response = login_start()

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_a_sign_up_not_finalized_yet_is_finalized_by_its_first_card_login():
    user = UserFactory(permanent=True, email="pending@usc.edu", usc_id_hash=card_hash(CARD))
    scan_row = USCScanAttempt.objects.create(
        usc_id_hash=card_hash(CARD),
        last4="1828",
        barcode_format="digits10",
        passed_validation=True,
        outcome="accepted",
        resulted_in_signup=True,
        ip="198.51.100.7",
    )

    response = log_in_by_card()

    assert response.status_code == 200
    registration = USCCardRegistration.objects.get(user=user)
    assert registration.total_card_logins == 1
    assert registration.first_scanned_at == scan_row.scanned_at


def test_at_most_3_card_login_codes_an_hour_are_emailed(card_holder):
    for _ in range(3):
        assert login_start().status_code == 202

    response = login_start()

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(mail.outbox) == 3
    assert USCScanAttempt.objects.filter(purpose="login_start", outcome="refused").count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_code_used_twice_at_once_gives_exactly_one_session(card_holder):
    login_start()
    code = last_emailed_code()

    results = run_in_parallel(2, lambda i: login_complete(code).status_code)

    assert sorted(results) == [200, 400]
    assert AuthSession.objects.filter(user=card_holder).count() == 1
    assert USCCardRegistration.objects.get(user=card_holder).total_card_logins == 1


def test_a_card_login_for_an_account_deleted_after_the_card_lookup_is_a_404_not_a_500(monkeypatch):
    """_card_login_account finds the holder, then locks the row; an account deleted in
    between is 'card not registered', not a DoesNotExist 500."""
    holder = UserFactory(permanent=True, email="tommy@usc.edu", usc_id_hash=card_hash(CARD))
    USCCardRegistrationFactory(user=holder, usc_id_hash=holder.usc_id_hash, last4="1828")
    lookup = selectors.get_user_for_card

    def found_then_deleted(usc_id_hash):
        user = lookup(usc_id_hash)
        User.objects.filter(pk=user.pk).delete()  # what a committed account deletion leaves
        return user

    monkeypatch.setattr(selectors, "get_user_for_card", found_then_deleted)
    response = login_start(CARD)
    assert response.status_code == 404, response.content
    assert error_code(response) == "card_not_registered"
