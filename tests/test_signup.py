"""Guest sign-up, POST /api/auth/signup: the invite-code gate, open sign-up, the
access status each entry gives, the guest's 7-day lifetime, the session token, IP bans and
the one-transaction rule."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthSession, User
from moderation.models import IPBan, SiteSettings
from referrals.models import InviteCode, InviteCodeUse, ReferralNotification
from tests.factories import InviteCodeFactory

pytestmark = pytest.mark.django_db

SIGNUP_URL = "/api/auth/signup"
FROZEN_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def signup(client: APIClient | None = None, remote_addr: str = "127.0.0.1", **overrides):
    payload = {"name": "Newcomer", "gender": "female", "terms_accepted": True, **overrides}
    payload = {key: value for key, value in payload.items() if value is not None}
    return (client or APIClient()).post(SIGNUP_URL, payload, format="json", REMOTE_ADDR=remote_addr)


def newcomers():
    """Users other than the owners of the fixtures' user invite codes."""
    return User.objects.filter(invite_codes__isnull=True)


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def open_signup(db):
    settings_row, _ = SiteSettings.objects.get_or_create(id=1)
    settings_row.open_signup = True
    settings_row.save()
    return settings_row


@pytest.fixture
def user_code(db):
    return InviteCodeFactory(user_code=True)


@pytest.fixture
def admin_code(db):
    return InviteCodeFactory()


# --- the gate --------------------------------------------------------------------------------


def test_signup_without_invite_code_is_refused_with_requires_invite_code():
    response = signup()

    assert response.status_code == 403
    assert error_code(response) == "requires_invite_code"
    assert not newcomers().exists()
    assert not AuthSession.objects.exists()


def test_signup_with_open_signup_switched_off_in_settings_is_refused_with_requires_invite_code():
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": False})

    response = signup()

    assert response.status_code == 403
    assert error_code(response) == "requires_invite_code"
    assert not newcomers().exists()


def test_signup_with_open_signup_on_and_no_code_gives_open_signup(open_signup):
    response = signup()

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["access_status"] == "open_signup"
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.access_status == User.AccessStatus.OPEN_SIGNUP
    assert user.access_granted_at is not None
    assert user.invite_code_used is None
    assert not InviteCodeUse.objects.exists()


def test_signup_with_user_invite_code_gives_qr_grace_period_and_spends_one_use(user_code):
    response = signup(invite_code=user_code.code)

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["access_status"] == "qr_grace_period"
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.access_status == User.AccessStatus.QR_GRACE_PERIOD
    assert user.invite_code_used == user_code.code
    user_code.refresh_from_db()
    assert user_code.uses_remaining == 3
    assert list(InviteCodeUse.objects.values_list("code_id", "user_id")) == [(user_code.code, user.pk)]


def test_signup_with_user_invite_code_under_open_signup_still_gives_qr_grace_period(open_signup, user_code):
    response = signup(invite_code=user_code.code)

    assert response.status_code == 201, response.json()
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.access_status == User.AccessStatus.QR_GRACE_PERIOD
    user_code.refresh_from_db()
    assert user_code.uses_remaining == 3


def test_signup_invite_code_is_accepted_in_lower_case_with_dashes(user_code):
    typed = "-".join([user_code.code[:8].lower(), user_code.code[8:].lower()])

    response = signup(invite_code=typed)

    assert response.status_code == 201, response.json()
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.invite_code_used == user_code.code


def test_signup_with_admin_code_under_open_signup_gets_at_least_open_signup(open_signup, admin_code):
    response = signup(invite_code=admin_code.code)

    assert response.status_code == 201, response.json()
    assert newcomers().get().access_status == User.AccessStatus.OPEN_SIGNUP


def test_signup_with_admin_code_is_unpaid_until_usc_email_is_verified(admin_code):
    response = signup(invite_code=admin_code.code)

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["access_status"] == "unpaid"
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.access_status == User.AccessStatus.UNPAID
    assert user.invite_code_used == admin_code.code
    assert InviteCodeUse.objects.filter(code=admin_code, user=user).exists()
    admin_code.refresh_from_db()
    assert admin_code.uses_remaining is None  # unlimited stays unlimited


def test_admin_code_user_gets_qr_verified_once_usc_email_code_is_verified(
    admin_code, mailoutbox, django_capture_on_commit_callbacks
):
    response = signup(invite_code=admin_code.code)
    assert response.status_code == 201
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")

    refused = client.post("/api/me/email", {"email": "newcomer@gmail.com"}, format="json")
    assert refused.status_code == 400
    assert "email" in refused.json()["error"]["fields"]

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/api/me/email", {"email": "newcomer@usc.edu"}, format="json")
    assert sent.status_code == 202
    assert len(mailoutbox) == 1
    code = next(word.rstrip(".") for word in mailoutbox[0].body.split() if word.rstrip(".").isdigit())

    verified = client.post("/api/me/email/verify", {"code": code}, format="json")

    assert verified.status_code == 200, verified.json()
    assert verified.json()["access_status"] == "qr_verified"
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.access_status == User.AccessStatus.QR_VERIFIED
    assert user.email == "newcomer@usc.edu"
    assert user.email_verified is True


# --- the guest and the session ---------------------------------------------------------------


def test_signup_makes_a_guest_that_expires_in_7_days(user_code):
    with time_machine.travel(FROZEN_NOW, tick=False):
        response = signup(invite_code=user_code.code)

    assert response.status_code == 201
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.account_type == User.AccountType.GUEST
    assert user.account_expires_at == FROZEN_NOW + timedelta(days=7)
    assert user.email is None
    assert not user.has_usable_password()


def test_guest_session_expires_in_7_days(user_code):
    with time_machine.travel(FROZEN_NOW, tick=False):
        response = signup(invite_code=user_code.code)

    session = AuthSession.objects.get(user_id=response.json()["user"]["id"])
    assert session.is_active is True
    assert session.created_at == FROZEN_NOW
    assert session.expires_at == FROZEN_NOW + timedelta(days=7)


def test_signup_token_authenticates_get_me_as_bearer(user_code):
    response = signup(invite_code=user_code.code)
    token = response.json()["token"]
    client = APIClient()

    assert client.get("/api/me").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    me = client.get("/api/me")

    assert me.status_code == 200
    assert me.json()["id"] == response.json()["user"]["id"]
    assert me.json()["name"] == "Newcomer"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}x")
    assert client.get("/api/me").status_code == 401


def test_signup_token_is_stored_only_as_sha256_digest(user_code):
    response = signup(invite_code=user_code.code)
    token = response.json()["token"]

    session = AuthSession.objects.get(user_id=response.json()["user"]["id"])
    assert session.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43  # 32 random bytes, base64url
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(s)::text FROM sessions s")
        session_rows = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT row_to_json(u)::text FROM users u")
        user_rows = [row[0] for row in cursor.fetchall()]
    assert len(session_rows) == 1
    assert all(token not in row for row in session_rows + user_rows)


def test_signup_is_one_transaction_of_seven_statements_and_its_session_is_the_only_one(
    open_signup, django_assert_max_num_queries
):
    """A sign-up burst costs round trips: the new user's first session skips start_session's
    lock and look-up of other sessions (nobody else can see the row before the commit)."""
    with django_assert_max_num_queries(7):  # BEGIN, ban, settings, user, access, session, COMMIT
        response = signup()

    assert response.status_code == 201
    user_id = response.json()["user"]["id"]
    assert list(AuthSession.objects.filter(user_id=user_id).values_list("is_active", flat=True)) == [True]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert client.get("/api/me").json()["id"] == user_id


# --- input rules -----------------------------------------------------------------------------


def test_signup_name_is_trimmed(user_code):
    response = signup(invite_code=user_code.code, name="  \tAda Lovelace \n ")

    assert response.status_code == 201, response.json()
    user = User.objects.get(pk=response.json()["user"]["id"])
    assert user.name == "Ada Lovelace"


def test_signup_name_of_60_chars_plus_surrounding_spaces_is_accepted(user_code):
    response = signup(invite_code=user_code.code, name="  " + "a" * 60 + "  ")

    assert response.status_code == 201, response.json()
    assert newcomers().get().name == "a" * 60


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "\u200b", "\u200b\u200d \u2060", "\x00\x07"])
def test_signup_blank_name_is_refused_with_field_message(user_code, name):
    response = signup(invite_code=user_code.code, name=name)

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["fields"]["name"]
    assert not newcomers().exists()
    user_code.refresh_from_db()
    assert user_code.uses_remaining == 4


def test_signup_name_of_61_chars_is_refused_with_field_message(user_code):
    response = signup(invite_code=user_code.code, name="a" * 61)

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["fields"]["name"] == ["Name must be 1 to 60 characters."]
    assert not newcomers().exists()


@pytest.mark.parametrize("gender", ["female", "male", "nonbinary", "unspecified"])
def test_signup_accepts_each_gender_choice(open_signup, gender):
    response = signup(gender=gender)

    assert response.status_code == 201, response.json()
    assert newcomers().get().gender == gender


@pytest.mark.parametrize("gender", ["other", "FEMALE", "", None])
def test_signup_gender_outside_the_choices_is_refused(open_signup, gender):
    response = signup(gender=gender)

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["fields"]["gender"]
    assert not newcomers().exists()


@pytest.mark.parametrize("terms", [False, None, "true", 1, "yes"])
def test_signup_terms_must_be_accepted(open_signup, terms):
    response = signup(terms_accepted=terms)

    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["fields"]["terms_accepted"]
    assert not newcomers().exists()


# --- refused codes ---------------------------------------------------------------------------


def test_signup_with_unknown_invite_code_is_refused_with_invalid_invite_code():
    response = signup(invite_code="ZZZZZZZZZZZZZZZZ")

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"
    assert response.json()["error"]["fields"]["invite_code"]
    assert not newcomers().exists()


def test_signup_with_unknown_invite_code_is_refused_even_with_open_signup_on(open_signup):
    response = signup(invite_code="ZZZZZZZZZZZZZZZZ")

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"
    assert not newcomers().exists()


def test_signup_with_inactive_invite_code_is_refused():
    code = InviteCodeFactory(user_code=True, is_active=False)

    response = signup(invite_code=code.code)

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"
    assert response.json()["error"]["fields"]["invite_code"]
    assert User.objects.filter(invite_code_used=code.code).count() == 0
    code.refresh_from_db()
    assert code.uses_remaining == 4
    assert not InviteCodeUse.objects.exists()


def test_signup_with_exhausted_invite_code_is_refused():
    code = InviteCodeFactory(user_code=True, uses_remaining=0)

    response = signup(invite_code=code.code)

    assert response.status_code in (400, 409)
    assert error_code(response) in ("invalid_invite_code", "invite_code_exhausted")
    assert User.objects.filter(invite_code_used=code.code).count() == 0
    code.refresh_from_db()
    assert code.uses_remaining == 0
    assert not InviteCodeUse.objects.exists()


def test_signup_with_last_use_of_a_code_succeeds_and_the_next_is_refused():
    code = InviteCodeFactory(type=InviteCode.Type.ADMIN, max_uses=1, uses_remaining=1)

    first = signup(invite_code=code.code, name="First", remote_addr="10.1.0.1")
    second = signup(invite_code=code.code, name="Second", remote_addr="10.1.0.2")

    assert first.status_code == 201
    assert second.status_code in (400, 409)
    assert error_code(second) in ("invalid_invite_code", "invite_code_exhausted")
    code.refresh_from_db()
    assert code.uses_remaining == 0
    assert list(User.objects.values_list("name", flat=True)) == ["First"]


# --- IP bans ---------------------------------------------------------------------------------


def test_signup_from_ip_banned_address_is_refused_with_ip_banned(user_code):
    IPBan.objects.create(ip="198.51.100.7", reason="abuse")

    response = signup(invite_code=user_code.code, remote_addr="198.51.100.7")

    assert response.status_code == 403
    assert error_code(response) == "ip_banned"
    assert not newcomers().exists()
    user_code.refresh_from_db()
    assert user_code.uses_remaining == 4


def test_signup_from_ip_banned_address_is_refused_even_with_open_signup(open_signup):
    IPBan.objects.create(ip="198.51.100.7", expires_at=timezone.now() + timedelta(days=1))

    response = signup(remote_addr="198.51.100.7")

    assert response.status_code == 403
    assert error_code(response) == "ip_banned"
    assert not newcomers().exists()


def test_signup_from_address_with_expired_ip_ban_is_allowed(user_code):
    now = timezone.now()
    IPBan.objects.create(ip="198.51.100.7", banned_at=now - timedelta(days=2), expires_at=now - timedelta(days=1))

    response = signup(invite_code=user_code.code, remote_addr="198.51.100.7")

    assert response.status_code == 201, response.json()
    assert User.objects.filter(pk=response.json()["user"]["id"]).exists()


def test_signup_ip_ban_of_another_address_does_not_block(user_code):
    IPBan.objects.create(ip="198.51.100.8")

    response = signup(invite_code=user_code.code, remote_addr="198.51.100.7")

    assert response.status_code == 201


# --- one transaction -------------------------------------------------------------------------


def test_signup_refused_for_bad_referral_code_leaves_no_user_and_spends_no_invite_use(
    user_code, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = signup(invite_code=user_code.code, referral_code="NOSUCHCODE")

    assert response.status_code == 400
    assert error_code(response) == "invalid_referral_code"
    assert response.json()["error"]["fields"]["referral_code"]
    assert not newcomers().exists()
    assert not AuthSession.objects.exists()
    assert not InviteCodeUse.objects.exists()
    assert not ReferralNotification.objects.exists()
    user_code.refresh_from_db()
    assert user_code.uses_remaining == 4
    assert callbacks == []
