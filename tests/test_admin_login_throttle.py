"""The admin login shares the API login's budgets: one per address (every attempt) and one per
account (failed attempts), whichever door; the locked form says so; each lockout is audited once."""

import pytest
from django.test import Client

from audit.models import AuditLog
from tests.api_support import PASSWORD, api, make_member
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api/auth/login"
EMAIL = "root@usc.edu"
WRONG = "wrong-password-123"
LOCKED = "Too many sign-in attempts for this account or from this address."


@pytest.fixture
def superuser(db):
    return make_member(UserFactory(name="Root", staff=True, is_superuser=True), EMAIL)


def admin_login(password, ip, email=EMAIL):
    client = Client()
    response = client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)
    return response, "_auth_user_id" in client.session


def api_login(password, ip, email=EMAIL):
    return api().post(API_LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def test_admin_login_refuses_the_right_password_once_the_account_budget_is_spent(superuser, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1000/m", "login_account": "3/h"}
    for n in range(3):
        response, signed_in = admin_login(WRONG, f"198.51.100.{n}")
        assert (response.status_code, signed_in) == (200, False)

    response, signed_in = admin_login(PASSWORD, "198.51.100.50")  # a new address, the right password

    assert (response.status_code, signed_in) == (200, False)
    assert LOCKED in response.content.decode()
    assert "Try again in 60 minute(s)." in response.content.decode()


def test_api_failures_lock_the_admin_door_and_admin_failures_lock_the_api(superuser, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1000/m", "login_account": "4/h"}
    for n in range(2):
        assert api_login(WRONG, f"198.51.100.{n}").status_code == 400
        assert admin_login(WRONG, f"198.51.100.{n + 10}")[1] is False

    refused = api_login(PASSWORD, "198.51.100.60")
    response, signed_in = admin_login(PASSWORD, "198.51.100.61")

    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "rate_limited")
    assert signed_in is False and LOCKED in response.content.decode()


def test_an_address_the_api_refuses_is_refused_by_the_admin_too(superuser, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/m", "login_account": "1000/h"}
    statuses = [api_login(WRONG, "203.0.113.7").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]

    response, signed_in = admin_login(PASSWORD, "203.0.113.7")

    assert signed_in is False and LOCKED in response.content.decode()
    assert admin_login(PASSWORD, "203.0.113.8")[1] is True  # another address has its own budget


def test_admin_attempts_count_for_the_address_even_with_the_right_password(superuser, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "2/m", "login_account": "1000/h"}
    assert admin_login(PASSWORD, "203.0.113.20")[1] is True
    assert admin_login(PASSWORD, "203.0.113.20")[1] is True

    assert admin_login(PASSWORD, "203.0.113.20")[1] is False
    assert api_login(PASSWORD, "203.0.113.20").status_code == 429
    assert admin_login(PASSWORD, "203.0.113.21")[1] is True  # another address has its own budget


def test_each_lockout_is_audited_once_with_its_door_and_budget(superuser, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/m", "login_account": "2/h"}
    for n in range(4):
        admin_login(WRONG, f"198.51.100.{n}")  # the 2nd locks the account; later ones refused, not re-audited
    for _ in range(6):
        api_login(WRONG, "203.0.113.30", email="nobody@usc.edu")  # the 4th locks the address

    rows = list(AuditLog.objects.filter(event_type="auth.login_locked").order_by("id"))
    assert [(row.target_id, row.ip, row.details) for row in rows] == [
        (superuser.pk, "198.51.100.1", {"budget": "account", "door": "admin"}),
        (None, "203.0.113.30", {"budget": "account", "door": "api"}),
        (None, "203.0.113.30", {"budget": "address", "door": "api"}),
    ]


def test_a_member_without_staff_rights_is_not_counted_as_a_failure(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1000/m", "login_account": "2/h"}
    make_member(UserFactory(), "member@usc.edu")
    for n in range(3):
        assert admin_login(PASSWORD, f"198.51.100.{n}", email="member@usc.edu")[1] is False

    assert api_login(PASSWORD, "198.51.100.9", email="member@usc.edu").status_code == 200
