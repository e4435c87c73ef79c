"""Login and password reset: one answer for unknown emails and wrong passwords,
case-insensitive emails, guests cannot log in, banned users are refused with an audit row,
a per-IP login throttle; forgot/reset by emailed code, and a reset revokes every session."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import AuthSession, EmailVerification, User
from accounts.services.sessions import start_session
from moderation.models import AuditLog
from tests.api_support import PASSWORD, api, make_member
from tests.factories import UserBanFactory, UserFactory

pytestmark = pytest.mark.django_db


NEW_PASSWORD = "copper-meadow-quartz-17"
# Close to the real clock, so rows the cast fixtures create stay consistent with it.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


def log_in(email: str, password: str = PASSWORD, *, ip: str = "127.0.0.1"):
    return api().post("/api/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def forgot(email: str):
    return api().post("/api/auth/password/forgot", {"email": email}, format="json")


def reset(email: str, code: str, new_password: str = NEW_PASSWORD):
    payload = {"email": email, "code": code, "new_password": new_password}
    return api().post("/api/auth/password/reset", payload, format="json", REMOTE_ADDR="192.0.2.80")


def session_of(token: str) -> AuthSession:
    return AuthSession.objects.get(token_digest=hashlib.sha256(token.encode()).hexdigest())


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == code
    assert body["message"]
    return body


def code_from(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def member(alice):
    return make_member(alice, "alice@usc.edu")


@pytest.fixture
def reset_code(member, django_capture_on_commit_callbacks):
    """Alice asked for a reset; the code from her email."""
    with django_capture_on_commit_callbacks(execute=True):
        assert forgot("alice@usc.edu").status_code == 202
    assert len(mail.outbox) == 1
    return code_from(mail.outbox[0])


# --- login ----------------------------------------------------------------------------------


def test_login_with_the_right_password_returns_a_working_token(member):
    response = log_in("alice@usc.edu")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["id"] == str(member.pk)
    assert api(body["token"]).get("/api/me").status_code == 200
    member.refresh_from_db()
    assert member.last_login is not None


def test_unknown_email_and_wrong_password_get_the_same_400_invalid_credentials(member):
    unknown = log_in("nobody@usc.edu")
    wrong = log_in("alice@usc.edu", "not-the-password-99")

    assert_refused(unknown, 400, "invalid_credentials")
    assert_refused(wrong, 400, "invalid_credentials")
    assert unknown.json() == wrong.json()
    assert not AuthSession.objects.exists()


def test_login_email_is_case_insensitive(member):
    response = log_in("  ALICE@Usc.EDU ")
    assert response.status_code == 200, response.content
    assert session_of(response.json()["token"]).user_id == member.pk


def test_guest_without_a_password_cannot_log_in(alice):
    # A guest who verified an email but never chose a password (has no usable password).
    User.objects.filter(pk=alice.pk).update(email="alice@usc.edu", email_verified=True)
    alice.refresh_from_db()
    assert not alice.has_usable_password()

    for password in ["", "!", PASSWORD]:
        response = api().post("/api/auth/login", {"email": "alice@usc.edu", "password": password}, format="json")
        assert response.status_code == 400
    response = log_in("alice@usc.edu")
    assert response.json() == log_in("nobody@usc.edu").json()
    assert_refused(response, 400, "invalid_credentials")
    assert not AuthSession.objects.filter(user=alice).exists()


@pytest.mark.parametrize("ban_status", [User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT])
def test_banned_user_signs_in_to_read_the_ban_and_appeal_but_nothing_else(member, ban_status):
    UserBanFactory(user=member, status=ban_status)
    User.objects.filter(pk=member.pk).update(ban_status=ban_status)

    response = log_in("alice@usc.edu", ip="192.0.2.31")

    assert response.status_code == 200, response.content
    client = api(response.json()["token"])
    assert client.get("/api/me/ban").json()["ban_status"] == ban_status
    assert client.get("/api/me/strikes").status_code == 200
    refused = client.get("/api/reel")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"


def test_banned_sign_in_writes_an_audit_row(member):
    User.objects.filter(pk=member.pk).update(ban_status=User.BanStatus.TEMPORARY)

    assert log_in("alice@usc.edu", ip="192.0.2.31").status_code == 200

    audit = AuditLog.objects.get(event_type="auth.banned_login")
    assert audit.target_id == member.pk
    assert audit.ip == "192.0.2.31"
    assert audit.details == {"ban_status": "temporary"}


def test_banned_user_with_a_wrong_password_learns_nothing_about_the_ban(member):
    User.objects.filter(pk=member.pk).update(ban_status=User.BanStatus.PERMANENT)
    response = log_in("alice@usc.edu", "not-the-password-99")
    assert_refused(response, 400, "invalid_credentials")
    assert response.json() == log_in("nobody@usc.edu").json()
    assert not AuditLog.objects.filter(event_type="auth.banned_login").exists()


def test_login_throttle_gives_429_with_retry_after_past_10_a_minute_per_ip(member):
    for _ in range(10):
        assert_refused(log_in("nobody@usc.edu", ip="192.0.2.7"), 400, "invalid_credentials")

    response = log_in("alice@usc.edu", ip="192.0.2.7")  # even the right password
    body = assert_refused(response, 429, "rate_limited")
    assert 0 < int(response["Retry-After"]) <= 60
    assert body["retry_after"] == int(response["Retry-After"])
    assert not AuthSession.objects.exists()

    # The limit is per address: another one still gets through.
    assert log_in("alice@usc.edu", ip="192.0.2.8").status_code == 200


# --- forgot password ------------------------------------------------------------------------


def test_forgot_password_answers_202_with_the_same_body_whoever_asks(member, django_capture_on_commit_callbacks):
    UserFactory(email="guest@usc.edu", email_verified=False)  # an unverified guest address
    with django_capture_on_commit_callbacks(execute=True):
        unknown = forgot("nobody@usc.edu")
        guest = forgot("guest@usc.edu")
        verified = forgot("alice@usc.edu")

    assert [unknown.status_code, guest.status_code, verified.status_code] == [202, 202, 202]
    assert unknown.json() == guest.json() == verified.json()
    # Only the verified account gets an email (and a code row).
    assert [m.to for m in mail.outbox] == [["alice@usc.edu"]]
    assert list(EmailVerification.objects.values_list("user_id", "purpose")) == [
        (member.pk, EmailVerification.Purpose.RESET_PASSWORD)
    ]


def test_forgot_password_for_a_guest_without_email_sends_nothing(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = forgot("alice@usc.edu")
    assert response.status_code == 202
    assert mail.outbox == []
    assert not EmailVerification.objects.exists()


def test_forgot_password_for_a_guest_with_a_verified_email_sends_nothing(alice, django_capture_on_commit_callbacks):
    """Guests have no password: they become permanent with make-permanent, not by a reset."""
    User.objects.filter(pk=alice.pk).update(email="alice.guest@usc.edu", email_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = forgot("alice.guest@usc.edu")
    assert response.status_code == 202
    assert mail.outbox == []
    assert not EmailVerification.objects.exists()


def test_reset_code_is_six_digits_and_stored_only_as_a_digest(reset_code, member):
    assert re.fullmatch(r"\d{6}", reset_code)
    row = EmailVerification.objects.get(user=member)
    assert reset_code not in str(list(EmailVerification.objects.filter(pk=row.pk).values()))


# --- reset password -------------------------------------------------------------------------


def test_reset_with_the_right_code_changes_the_password_and_revokes_every_session(
    member, django_capture_on_commit_callbacks
):
    first_token = start_session(member, ip="127.0.0.1")
    second_token = start_session(member, ip="127.0.0.1")
    with django_capture_on_commit_callbacks(execute=True):
        forgot("alice@usc.edu")
    code = code_from(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = reset("alice@usc.edu", code)
    assert response.status_code == 200, response.content
    assert len(callbacks) == 1  # the session_invalidated push

    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert not member.check_password(PASSWORD)
    assert not AuthSession.objects.filter(user=member, is_active=True).exists()
    for token in (first_token, second_token):
        assert_refused(api(token).get("/api/me"), 401, "invalid_token")

    audit = AuditLog.objects.get(event_type="auth.password_reset")
    assert audit.actor_id == member.pk
    assert audit.target_id == member.pk
    assert audit.ip == "192.0.2.80"
    assert audit.details == {"sessions_revoked": 1}

    assert_refused(log_in("alice@usc.edu"), 400, "invalid_credentials")
    assert log_in("alice@usc.edu", NEW_PASSWORD).status_code == 200


def test_reset_code_works_only_once(member, reset_code):
    assert reset("alice@usc.edu", reset_code).status_code == 200
    assert_refused(reset("alice@usc.edu", reset_code, "another-strong-pass-33"), 400, "invalid_code")
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


def test_reset_with_a_wrong_code_gets_400_invalid_code_and_changes_nothing(member, reset_code):
    token = start_session(member, ip="127.0.0.1")

    assert_refused(reset("alice@usc.edu", other_code(reset_code)), 400, "invalid_code")

    member.refresh_from_db()
    assert member.check_password(PASSWORD)
    assert api(token).get("/api/me").status_code == 200
    assert EmailVerification.objects.get(user=member).attempts == 1
    assert not AuditLog.objects.filter(event_type="auth.password_reset").exists()


def test_reset_for_an_unknown_email_looks_like_a_wrong_code(member, reset_code):
    unknown = reset("nobody@usc.edu", reset_code)
    wrong = reset("alice@usc.edu", other_code(reset_code))
    assert_refused(unknown, 400, "invalid_code")
    assert unknown.json() == wrong.json()


@pytest.mark.parametrize(
    "weak_password",
    ["short-9ch", "password123", "73920184756301"],
    ids=["too_short", "common", "numeric"],
)
def test_reset_with_a_weak_password_gets_400_with_fields_new_password(member, reset_code, weak_password):
    body = assert_refused(reset("alice@usc.edu", reset_code, weak_password), 400, "invalid")
    assert body["fields"]["new_password"]

    member.refresh_from_db()
    assert member.check_password(PASSWORD)
    # The code was not spent on the refused attempt.
    assert reset("alice@usc.edu", reset_code).status_code == 200


def test_reset_code_expires_after_10_minutes(member, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(T0, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        forgot("alice@usc.edu")
    code = code_from(mail.outbox[0])
    assert EmailVerification.objects.get(user=member).expires_at == T0 + timedelta(minutes=10)

    time_machine.move_to(T0 + timedelta(minutes=10, seconds=1), tick=False)
    assert_refused(reset("alice@usc.edu", code), 400, "invalid_code")
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_reset_code_still_works_just_before_10_minutes(member, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(T0, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        forgot("alice@usc.edu")
    code = code_from(mail.outbox[0])

    time_machine.move_to(T0 + timedelta(minutes=9, seconds=59), tick=False)
    assert reset("alice@usc.edu", code).status_code == 200
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
