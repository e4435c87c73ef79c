"""Failed logins are limited per account as well as per IP (a botnet with an address per guess
must not brute-force one account), with the same answers for an address that has no account."""

import pytest

from tests.api_support import PASSWORD, api, make_member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/api/auth/login"


@pytest.fixture(autouse=True)
def rates(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1000/m", "login_account": "3/h"}


def attempt(email, password, n):
    return api().post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=f"198.51.100.{n}")


def answer(response):
    body = response.json()["error"]
    return response.status_code, body["code"], "Retry-After" in response


def test_failures_from_many_ips_lock_the_account_even_for_the_right_password(db):
    make_member(UserFactory(), "target@usc.edu")
    for n in range(3):
        assert answer(attempt("target@usc.edu", "wrong-password-123", n)) == (400, "invalid_credentials", False)

    refused = attempt("Target@USC.edu ", PASSWORD, 50)  # a new IP, the right password, another spelling

    assert answer(refused) == (429, "rate_limited", True)
    assert 3500 < int(refused["Retry-After"]) <= 3600


def test_an_unknown_address_gets_exactly_the_same_answers(db):
    make_member(UserFactory(), "target@usc.edu")
    known = [answer(attempt("target@usc.edu", "wrong-password-123", n)) for n in range(4)]
    unknown = [answer(attempt("nobody@usc.edu", "wrong-password-123", n)) for n in range(4)]

    assert known == unknown == [(400, "invalid_credentials", False)] * 3 + [(429, "rate_limited", True)]


def test_other_accounts_and_successful_logins_are_not_counted(db):
    make_member(UserFactory(), "target@usc.edu")
    make_member(UserFactory(), "other@usc.edu")
    for n in range(5):
        assert attempt("other@usc.edu", PASSWORD, n).status_code == 200
    for n in range(3):
        attempt("target@usc.edu", "wrong-password-123", n)

    assert attempt("other@usc.edu", PASSWORD, 9).status_code == 200
