"""Email codes and the permanent upgrade: 6-digit codes
stored only as a digest, 10-minute expiry, 5 wrong guesses burn a code, 3 sends an hour, a
newer code replaces the older one; an email is attached only once verified (no squatting);
admin-code users need @usc.edu; make-permanent needs a verified email and a strong password."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import AuthSession, EmailVerification, User
from accounts.services.sessions import start_session
from referrals.models import InviteCode
from tests.api_support import api
from tests.concurrency import run_in_parallel
from tests.factories import InviteCodeFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbor-lantern-42"
# Close to the real clock, so rows the cast fixtures create stay consistent with it.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
SENT = {"detail": "A code was sent to that address."}


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == code
    assert body["message"]
    return body


def code_from(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def other_code(code: str, step: int = 1) -> str:
    return f"{(int(code) + step) % 10**6:06d}"


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """POST /api/me/email as `token`, running the after-commit email send."""

    def ask(token: str, email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return api(token).post("/api/me/email", {"email": email}, format="json")

    return ask


def verify(token: str, code: str):
    return api(token).post("/api/me/email/verify", {"code": code}, format="json")


def make_permanent(token: str, password: str = PASSWORD):
    return api(token).post("/api/me/make-permanent", {"password": password}, format="json")


@pytest.fixture
def alice_token(alice):
    return start_session(alice, ip="127.0.0.1")


@pytest.fixture
def bob_token(bob):
    return start_session(bob, ip="127.0.0.1")


@pytest.fixture
def newcomer_token():
    """A guest who signed up with an admin invite code (access only after @usc.edu verification)."""
    payload = {"name": "Newcomer", "gender": "male", "terms_accepted": True, "invite_code": InviteCodeFactory().code}
    response = api().post("/api/auth/signup", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def user_of(token: str) -> User:
    return User.objects.get(pk=api(token).get("/api/me").json()["id"])


# --- the code -------------------------------------------------------------------------------


def test_email_code_is_six_digits_and_stored_only_as_a_digest(alice, alice_token, ask):
    assert ask(alice_token, "alice@example.com").status_code == 202

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    code = code_from(mail.outbox[0])
    assert re.fullmatch(r"\d{6}", code)
    row = EmailVerification.objects.get(user=alice)
    assert row.purpose == EmailVerification.Purpose.VERIFY_EMAIL
    assert row.email == "alice@example.com"
    assert re.fullmatch(r"[0-9a-f]{64}", row.code_digest)
    assert code not in str(list(EmailVerification.objects.filter(pk=row.pk).values()))


def test_email_is_attached_only_after_the_code_is_verified(alice, alice_token, ask):
    assert ask(alice_token, "Alice@Example.COM").json() == SENT
    alice.refresh_from_db()
    assert alice.email is None
    assert alice.email_verified is False

    response = verify(alice_token, code_from(mail.outbox[0]))
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "alice@example.com"
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"  # stored lower-cased
    assert alice.email_verified is True
    assert EmailVerification.objects.get(user=alice).consumed_at is not None


def test_verify_without_a_pending_code_gets_400_invalid_code(alice, alice_token):
    body = assert_refused(verify(alice_token, "123456"), 400, "invalid_code")
    assert body["fields"]["code"]
    alice.refresh_from_db()
    assert alice.email is None


def test_email_code_works_just_before_10_minutes(alice, alice_token, ask, time_machine):
    time_machine.move_to(T0, tick=False)
    ask(alice_token, "alice@example.com")
    assert EmailVerification.objects.get(user=alice).expires_at == T0 + timedelta(minutes=10)

    time_machine.move_to(T0 + timedelta(minutes=9, seconds=59), tick=False)
    assert verify(alice_token, code_from(mail.outbox[0])).status_code == 200


def test_email_code_expires_after_10_minutes(alice, alice_token, ask, time_machine):
    time_machine.move_to(T0, tick=False)
    ask(alice_token, "alice@example.com")

    time_machine.move_to(T0 + timedelta(minutes=10, seconds=1), tick=False)
    assert_refused(verify(alice_token, code_from(mail.outbox[0])), 400, "invalid_code")
    alice.refresh_from_db()
    assert alice.email is None


def test_five_wrong_guesses_burn_the_code(alice, alice_token, ask):
    ask(alice_token, "alice@example.com")
    code = code_from(mail.outbox[0])

    for step in range(1, 6):
        assert_refused(verify(alice_token, other_code(code, step)), 400, "invalid_code")
    row = EmailVerification.objects.get(user=alice)
    assert row.attempts == 5
    assert row.consumed_at is not None

    assert_refused(verify(alice_token, code), 400, "invalid_code")
    alice.refresh_from_db()
    assert alice.email is None
    assert alice.email_verified is False


def test_four_wrong_guesses_leave_the_code_usable(alice, alice_token, ask):
    ask(alice_token, "alice@example.com")
    code = code_from(mail.outbox[0])
    for step in range(1, 5):
        assert_refused(verify(alice_token, other_code(code, step)), 400, "invalid_code")
    assert EmailVerification.objects.get(user=alice).attempts == 4

    assert verify(alice_token, code).status_code == 200
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_at_most_3_code_sends_an_hour_then_429_with_retry_after(alice, alice_token, ask, time_machine):
    time_machine.move_to(T0, tick=False)
    for n in range(3):
        assert ask(alice_token, f"alice{n}@example.com").status_code == 202

    time_machine.move_to(T0 + timedelta(minutes=30), tick=False)
    response = ask(alice_token, "alice3@example.com")
    body = assert_refused(response, 429, "rate_limited")
    assert int(response["Retry-After"]) == body["retry_after"]
    assert 30 * 60 <= body["retry_after"] <= 30 * 60 + 1  # until the first send is an hour old
    assert len(mail.outbox) == 3
    assert EmailVerification.objects.filter(user=alice).count() == 3

    time_machine.move_to(T0 + timedelta(hours=1, seconds=1), tick=False)
    assert ask(alice_token, "alice3@example.com").status_code == 202
    assert mail.outbox[-1].to == ["alice3@example.com"]
    assert len(mail.outbox) == 4


def test_send_limit_is_per_user(alice, alice_token, bob_token, ask):
    for n in range(3):
        ask(alice_token, f"alice{n}@example.com")
    assert_refused(ask(alice_token, "alice3@example.com"), 429, "rate_limited")
    assert ask(bob_token, "bob@example.com").status_code == 202


def test_send_limit_counts_every_code_emailed_to_the_user(alice, alice_token, ask, django_capture_on_commit_callbacks):
    User.objects.filter(pk=alice.pk).update(email="alice@example.com", email_verified=True)
    for n in range(3):
        ask(alice_token, f"alice{n}@example.net")

    with django_capture_on_commit_callbacks(execute=True):
        response = api().post("/api/auth/password/forgot", {"email": "alice@example.com"}, format="json")
    assert response.status_code == 202
    assert len(mail.outbox) == 3


def test_newer_code_replaces_the_older_one(alice, alice_token, ask):
    ask(alice_token, "first@example.com")
    ask(alice_token, "second@example.com")
    older, newer = code_from(mail.outbox[0]), code_from(mail.outbox[1])
    first_row, second_row = EmailVerification.objects.filter(user=alice).order_by("created_at")
    assert first_row.consumed_at is not None
    assert second_row.consumed_at is None

    if older != newer:  # one chance in a million that the two codes coincide
        assert_refused(verify(alice_token, older), 400, "invalid_code")
    assert verify(alice_token, newer).status_code == 200
    alice.refresh_from_db()
    assert alice.email == "second@example.com"


# --- squatting ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["bob@usc.edu", "BOB@usc.edu"])
def test_asking_for_another_accounts_verified_email_sends_nothing_and_answers_the_same(
    alice, bob, alice_token, ask, typed
):
    User.objects.filter(pk=bob.pk).update(email="bob@usc.edu", email_verified=True)
    stranger = UserFactory()
    normal = ask(start_session(stranger, ip="127.0.0.1"), "fresh@usc.edu")
    mail.outbox.clear()

    squat = ask(alice_token, typed)

    assert squat.status_code == normal.status_code == 202
    assert squat.json() == normal.json()
    assert mail.outbox == []
    assert not EmailVerification.objects.filter(user=alice).exists()
    assert_refused(verify(alice_token, "123456"), 400, "invalid_code")
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert alice.email is None
    assert bob.email == "bob@usc.edu"


def test_send_limit_does_not_reveal_whether_an_address_has_an_account(alice, bob, alice_token, ask):
    User.objects.filter(pk=bob.pk).update(email="bob@usc.edu", email_verified=True)
    for n in range(3):
        assert ask(alice_token, f"alice{n}@example.com").status_code == 202

    taken = ask(alice_token, "bob@usc.edu")
    free = ask(alice_token, "nobody@usc.edu")

    assert free.status_code == 429
    assert (taken.status_code, taken.json()) == (free.status_code, free.json())
    assert len(mail.outbox) == 3


def test_second_user_to_verify_the_same_new_address_gets_409_email_taken(alice, bob, alice_token, bob_token, ask):
    ask(alice_token, "shared@usc.edu")
    ask(bob_token, "shared@usc.edu")
    assert [m.to for m in mail.outbox] == [["shared@usc.edu"], ["shared@usc.edu"]]
    alice_code, bob_code = code_from(mail.outbox[0]), code_from(mail.outbox[1])

    assert verify(alice_token, alice_code).status_code == 200
    body = assert_refused(verify(bob_token, bob_code), 409, "email_taken")
    assert body["fields"]["email"]

    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.email, alice.email_verified) == ("shared@usc.edu", True)
    assert (bob.email, bob.email_verified) == (None, False)
    # Bob's code is spent; a retry cannot take the address either.
    assert EmailVerification.objects.get(user=bob).consumed_at is not None
    assert_refused(verify(bob_token, bob_code), 400, "invalid_code")


@pytest.mark.django_db(transaction=True)
def test_parallel_verifications_of_one_new_address_leave_exactly_one_owner(alice, bob, alice_token, bob_token, ask):
    ask(alice_token, "shared@usc.edu")
    ask(bob_token, "shared@usc.edu")
    codes = {alice_token: code_from(mail.outbox[0]), bob_token: code_from(mail.outbox[1])}
    tokens = list(codes)

    def verify(index):
        return api(tokens[index]).post("/api/me/email/verify", {"code": codes[tokens[index]]}, format="json")

    responses = run_in_parallel(2, verify)

    assert sorted(r.status_code for r in responses) == [200, 409], [r.content for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["error"]["code"] == "email_taken"
    owners = list(User.objects.filter(email="shared@usc.edu").values_list("pk", flat=True))
    assert len(owners) == 1
    assert owners[0] in (alice.pk, bob.pk)
    assert User.objects.filter(pk__in=[alice.pk, bob.pk], email__isnull=True).count() == 1


# --- admin-code users -----------------------------------------------------------------------


@pytest.mark.parametrize("email", ["newcomer@gmail.com", "newcomer@usc.edu.evil.com", "newcomer@notusc.edu"])
def test_admin_code_user_must_use_a_usc_edu_address(newcomer_token, ask, email):
    body = assert_refused(ask(newcomer_token, email), 400, "invalid")
    assert body["fields"]["email"]
    assert mail.outbox == []
    assert not EmailVerification.objects.exists()


def test_admin_code_user_becomes_qr_verified_by_verifying_a_usc_edu_address(newcomer_token, ask):
    newcomer = user_of(newcomer_token)
    assert newcomer.access_status == User.AccessStatus.UNPAID
    assert ask(newcomer_token, "newcomer@usc.edu").status_code == 202

    response = verify(newcomer_token, code_from(mail.outbox[0]))
    assert response.status_code == 200, response.content
    assert response.json()["access_status"] == "qr_verified"
    newcomer.refresh_from_db()
    assert newcomer.access_status == User.AccessStatus.QR_VERIFIED
    assert newcomer.email == "newcomer@usc.edu"
    assert newcomer.email_verified is True
    assert InviteCode.objects.filter(created_by=newcomer, type=InviteCode.Type.USER).exists()


def test_user_code_guest_may_use_any_address_and_keeps_their_access(alice, alice_token, ask):
    assert ask(alice_token, "alice@gmail.com").status_code == 202
    assert verify(alice_token, code_from(mail.outbox[0])).status_code == 200
    alice.refresh_from_db()
    assert alice.email == "alice@gmail.com"
    assert alice.access_status == User.AccessStatus.QR_GRACE_PERIOD


# --- permanent upgrade ----------------------------------------------------------------------


@pytest.mark.parametrize("email", [None, "alice@usc.edu"], ids=["no_email", "unverified_email"])
def test_make_permanent_needs_a_verified_email(alice, alice_token, email):
    User.objects.filter(pk=alice.pk).update(email=email, email_verified=False)

    assert_refused(make_permanent(alice_token), 409, "email_not_verified")

    alice.refresh_from_db()
    assert alice.account_type == User.AccountType.GUEST
    assert alice.account_expires_at is not None
    assert not alice.has_usable_password()


@pytest.mark.parametrize(
    "weak_password",
    ["short-9ch", "password123", "73920184756301", "alicesmith-usc"],
    ids=["shorter_than_10", "common", "numeric", "like_the_email"],
)
def test_make_permanent_enforces_the_password_validators(alice, alice_token, weak_password):
    User.objects.filter(pk=alice.pk).update(email="alicesmith@usc.edu", email_verified=True)

    body = assert_refused(make_permanent(alice_token, weak_password), 400, "invalid")
    assert body["fields"]["password"]

    alice.refresh_from_db()
    assert alice.account_type == User.AccountType.GUEST
    assert not alice.has_usable_password()


def test_make_permanent_upgrades_the_account_and_extends_the_session_to_30_days(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    token = start_session(alice, ip="127.0.0.1")
    session = AuthSession.objects.get(user=alice)
    assert session.expires_at == T0 + timedelta(days=7)
    User.objects.filter(pk=alice.pk).update(email="alice@usc.edu", email_verified=True)

    time_machine.move_to(T0 + timedelta(hours=1), tick=False)
    response = make_permanent(token)
    assert response.status_code == 200, response.content
    assert response.json()["account_type"] == "permanent"
    assert response.json()["has_password"] is True

    alice.refresh_from_db()
    session.refresh_from_db()
    assert alice.account_type == User.AccountType.PERMANENT
    assert alice.account_expires_at is None
    assert alice.check_password(PASSWORD)
    assert alice.password.startswith("argon2")
    assert session.expires_at == T0 + timedelta(days=30)
    assert session.is_active is True

    time_machine.move_to(T0 + timedelta(days=29), tick=False)
    assert api(token).get("/api/me").status_code == 200


def test_guest_becomes_a_permanent_account_that_can_log_in(ask):
    payload = {"name": "Dana", "gender": "female", "terms_accepted": True, "invite_code": InviteCodeFactory().code}
    token = api().post("/api/auth/signup", payload, format="json").json()["token"]
    assert ask(token, "dana@usc.edu").status_code == 202
    assert verify(token, code_from(mail.outbox[0])).status_code == 200
    assert make_permanent(token).status_code == 200

    response = api().post("/api/auth/login", {"email": "dana@usc.edu", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["account_type"] == "permanent"


# --- who may call ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/me/email", {"email": "x@usc.edu"}),
        ("/api/me/email/verify", {"code": "123456"}),
        ("/api/me/make-permanent", {"password": PASSWORD}),
    ],
)
def test_stranger_without_a_session_gets_401(path, payload):
    assert_refused(api().post(path, payload, format="json"), 401, "not_authenticated")
    assert mail.outbox == []


def test_banned_user_cannot_ask_for_an_email_code(alice, alice_token, ask):
    User.objects.filter(pk=alice.pk).update(ban_status=User.BanStatus.TEMPORARY)
    body = assert_refused(ask(alice_token, "alice@usc.edu"), 403, "banned")
    assert body["ban_status"] == "temporary"
    assert mail.outbox == []
