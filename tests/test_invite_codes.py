"""Invite codes: the code format, the 5-failures-per-hour-per-IP validation limit,
redeeming a code (never one's own, never twice), and the user's own code unlocked by 4
successful sessions (GET /api/me/invite-code and its PNG)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.access import grant_access
from referrals.models import InviteCode, InviteCodeUse
from referrals.services import CODE_ALPHABET, INVITE_CODE_LENGTH, apply_session_unlock, random_code
from tests.api_support import signed_in
from tests.factories import InviteCodeFactory, UserFactory

pytestmark = pytest.mark.django_db

VALIDATE_URL = "/api/invite-codes/validate"
REDEEM_URL = "/api/me/invite-code/redeem"
MY_CODE_URL = "/api/me/invite-code"
MY_CODE_PNG_URL = "/api/me/invite-code.png"
INVITE_CODE_RE = re.compile(r"^[A-Z0-9]{16}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def validate(code: str, remote_addr: str = "127.0.0.1"):
    return APIClient().post(VALIDATE_URL, {"code": code}, format="json", REMOTE_ADDR=remote_addr)


def error_code(response) -> str:
    return response.json()["error"]["code"]


def with_sessions(user: User, successful: int) -> User:
    User.objects.filter(pk=user.pk).update(successful_sessions=successful, session_count=successful)
    user.refresh_from_db()
    return user


@pytest.fixture
def bobs_code(bob):
    return InviteCodeFactory(user_code=True, created_by=bob, created_by_name=bob.name)


@pytest.fixture
def open_signup_user(db):
    return UserFactory(name="Olive", access_status=User.AccessStatus.OPEN_SIGNUP)


# --- format ----------------------------------------------------------------------------------


def test_invite_codes_are_16_chars_drawn_from_all_of_a_z_0_9():
    codes = [random_code(INVITE_CODE_LENGTH) for _ in range(500)]

    assert all(INVITE_CODE_RE.fullmatch(code) for code in codes)
    assert set("".join(codes)) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    assert len(set(codes)) == len(codes)
    assert set(CODE_ALPHABET) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_unlocked_users_own_code_is_16_chars_a_z_0_9(alice):
    apply_session_unlock(with_sessions(alice, 4).pk)

    code = InviteCode.objects.get(created_by=alice)
    assert INVITE_CODE_RE.fullmatch(code.code)


# --- validation and the per-IP failure limit -------------------------------------------------


def test_validate_right_code_says_valid_with_its_type(bobs_code):
    response = validate(bobs_code.code)

    assert response.status_code == 200
    assert response.json() == {"valid": True, "type": "user"}
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 4  # checking spends nothing
    assert not InviteCodeUse.objects.exists()


def test_validate_wrong_code_gives_400_invalid_invite_code():
    response = validate("AAAAAAAAAAAAAAAA")

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"
    assert response.json()["error"]["fields"]["invite_code"]


def test_validate_inactive_code_gives_400_invalid_invite_code():
    code = InviteCodeFactory(is_active=False)

    response = validate(code.code)

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"


def test_validate_exhausted_code_gives_400_invalid_invite_code():
    code = InviteCodeFactory(user_code=True, uses_remaining=0)

    response = validate(code.code)

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"


def test_sixth_validation_after_five_failures_gets_429_with_retry_after_even_for_a_right_code(bobs_code):
    for attempt in range(5):
        wrong = validate(f"WRONGCODE000000{attempt}")
        assert wrong.status_code == 400, attempt
        assert error_code(wrong) == "invalid_invite_code"

    response = validate(bobs_code.code)

    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 3600
    assert response.json()["error"]["retry_after"] == int(response["Retry-After"])


def test_validation_failure_limit_is_per_ip(bobs_code):
    for attempt in range(5):
        assert validate(f"WRONGCODE000000{attempt}", remote_addr="10.0.0.1").status_code == 400
    assert validate(bobs_code.code, remote_addr="10.0.0.1").status_code == 429

    response = validate(bobs_code.code, remote_addr="10.0.0.2")

    assert response.status_code == 200
    assert response.json()["valid"] is True


def test_successful_validations_do_not_count_toward_the_failure_limit(bobs_code):
    for _ in range(8):
        assert validate(bobs_code.code).status_code == 200
    for attempt in range(4):
        assert validate(f"WRONGCODE000000{attempt}").status_code == 400

    assert validate(bobs_code.code).status_code == 200
    assert validate("WRONGCODE0000009").status_code == 400
    assert validate(bobs_code.code).status_code == 429


def test_failed_signups_count_toward_the_invite_code_failure_limit(bobs_code):
    client = APIClient()
    for attempt in range(5):
        response = client.post(
            "/api/auth/signup",
            {"name": "Mallory", "gender": "male", "terms_accepted": True, "invite_code": f"WRONGCODE000000{attempt}"},
            format="json",
        )
        assert response.status_code == 400
        assert error_code(response) == "invalid_invite_code"

    response = client.post(
        "/api/auth/signup",
        {"name": "Mallory", "gender": "male", "terms_accepted": True, "invite_code": bobs_code.code},
        format="json",
    )

    assert response.status_code == 429
    assert response.has_header("Retry-After")
    assert not User.objects.filter(name="Mallory").exists()
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 4


# --- redeeming a code as a signed-in user ----------------------------------------------------


def test_redeem_user_code_upgrades_open_signup_user_to_qr_grace_period(open_signup_user, bobs_code):
    response = signed_in(open_signup_user).post(REDEEM_URL, {"code": bobs_code.code}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["access_status"] == "qr_grace_period"
    open_signup_user.refresh_from_db()
    assert open_signup_user.access_status == User.AccessStatus.QR_GRACE_PERIOD
    assert open_signup_user.invite_code_used == bobs_code.code
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 3
    assert InviteCodeUse.objects.filter(code=bobs_code, user=open_signup_user).count() == 1


def test_redeem_own_invite_code_is_refused_with_own_invite_code(bob, bobs_code):
    bob.access_status = User.AccessStatus.OPEN_SIGNUP
    bob.save()

    response = signed_in(bob).post(REDEEM_URL, {"code": bobs_code.code}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "own_invite_code"
    assert response.json()["error"]["fields"]["invite_code"]
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 4
    assert not InviteCodeUse.objects.exists()
    bob.refresh_from_db()
    assert bob.access_status == User.AccessStatus.OPEN_SIGNUP
    assert bob.invite_code_used is None


def test_redeem_same_code_twice_gets_409_invite_code_already_used(open_signup_user, bobs_code):
    client = signed_in(open_signup_user)
    assert client.post(REDEEM_URL, {"code": bobs_code.code}, format="json").status_code == 200

    response = client.post(REDEEM_URL, {"code": bobs_code.code}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "invite_code_already_used"
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 3
    assert InviteCodeUse.objects.filter(code=bobs_code, user=open_signup_user).count() == 1


def test_redeem_code_used_at_signup_gets_409_invite_code_already_used(bobs_code):
    signed_up = APIClient().post(
        "/api/auth/signup",
        {"name": "Nina", "gender": "female", "terms_accepted": True, "invite_code": bobs_code.code},
        format="json",
    )
    assert signed_up.status_code == 201
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_up.json()['token']}")

    response = client.post(REDEEM_URL, {"code": bobs_code.code}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "invite_code_already_used"
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 3


def test_redeem_unknown_code_gives_400_invalid_invite_code(open_signup_user):
    response = signed_in(open_signup_user).post(REDEEM_URL, {"code": "NOPENOPENOPENOPE"}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "invalid_invite_code"
    open_signup_user.refresh_from_db()
    assert open_signup_user.access_status == User.AccessStatus.OPEN_SIGNUP
    assert open_signup_user.invite_code_used is None


def test_redeem_user_code_never_downgrades_a_qr_verified_user(bobs_code):
    verified = UserFactory(access_status=User.AccessStatus.QR_VERIFIED)

    response = signed_in(verified).post(REDEEM_URL, {"code": bobs_code.code}, format="json")

    assert response.status_code == 200
    verified.refresh_from_db()
    assert verified.access_status == User.AccessStatus.QR_VERIFIED


def test_redeem_admin_code_with_verified_usc_email_gives_qr_verified():
    admin_code = InviteCodeFactory()
    user = UserFactory(permanent=True, access_status=User.AccessStatus.OPEN_SIGNUP)
    assert user.email.endswith("@usc.edu")

    response = signed_in(user).post(REDEEM_URL, {"code": admin_code.code}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["access_status"] == "qr_verified"
    user.refresh_from_db()
    assert user.access_status == User.AccessStatus.QR_VERIFIED
    assert InviteCodeUse.objects.filter(code=admin_code, user=user).count() == 1
    assert InviteCode.objects.filter(created_by=user, type=InviteCode.Type.USER).count() == 1


def test_redeem_admin_code_without_usc_email_gives_no_access_upgrade(open_signup_user):
    admin_code = InviteCodeFactory()

    response = signed_in(open_signup_user).post(REDEEM_URL, {"code": admin_code.code}, format="json")

    assert response.status_code == 200, response.json()
    open_signup_user.refresh_from_db()
    assert open_signup_user.access_status == User.AccessStatus.OPEN_SIGNUP
    assert open_signup_user.invite_code_used == admin_code.code
    assert InviteCodeUse.objects.filter(code=admin_code, user=open_signup_user).count() == 1


def test_redeem_requires_authentication(bobs_code):
    response = APIClient().post(REDEEM_URL, {"code": bobs_code.code}, format="json")

    assert response.status_code == 401
    assert error_code(response) in ("not_authenticated", "invalid_token")
    bobs_code.refresh_from_db()
    assert bobs_code.uses_remaining == 4
    assert not InviteCodeUse.objects.exists()


# --- the user's own code ---------------------------------------------------------------------


def test_my_invite_code_is_404_before_unlock(alice):
    client = signed_in(alice)

    response = client.get(MY_CODE_URL)
    png = client.get(MY_CODE_PNG_URL)

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert png.status_code == 404
    assert not InviteCode.objects.filter(created_by=alice).exists()


def test_my_invite_code_exists_after_four_successful_sessions(alice):
    assert apply_session_unlock(with_sessions(alice, 4).pk) is True

    response = signed_in(alice).get(MY_CODE_URL)

    assert response.status_code == 200
    body = response.json()
    assert INVITE_CODE_RE.fullmatch(body["code"])
    assert body["type"] == "user"
    assert body["max_uses"] == 4
    assert body["uses_remaining"] == 4
    assert body["signup_url"].endswith(f"?invite={body['code']}")
    code = InviteCode.objects.get(created_by=alice)
    assert code.code == body["code"]
    assert (code.type, code.max_uses, code.uses_remaining, code.is_active) == ("user", 4, 4, True)
    assert code.created_by_name == "Alice"
    alice.refresh_from_db()
    assert alice.qr_unlocked is True
    assert alice.qr_unlocked_at is not None
    assert alice.access_status == User.AccessStatus.QR_VERIFIED


def test_my_invite_code_png_is_a_png_image(alice):
    apply_session_unlock(with_sessions(alice, 4).pk)

    response = signed_in(alice).get(MY_CODE_PNG_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("accept", ["image/png", "image/*"])
def test_my_invite_code_png_is_served_to_a_client_that_accepts_only_images(alice, accept):
    apply_session_unlock(with_sessions(alice, 4).pk)

    response = signed_in(alice).get(MY_CODE_PNG_URL, HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)


def test_user_gets_own_invite_code_when_granted_qr_verified(alice):
    assert grant_access(alice, User.AccessStatus.QR_VERIFIED) is True

    code = InviteCode.objects.get(created_by=alice)
    assert (code.type, code.max_uses, code.uses_remaining) == ("user", 4, 4)


def test_stranger_does_not_see_alices_invite_code(alice, stranger):
    apply_session_unlock(with_sessions(alice, 4).pk)

    client = signed_in(stranger)
    response = client.get(MY_CODE_URL)

    assert response.status_code == 404
    assert client.get(MY_CODE_PNG_URL).status_code == 404


@pytest.mark.parametrize("url", [MY_CODE_URL, MY_CODE_PNG_URL])
def test_my_invite_code_requires_authentication(alice, url):
    apply_session_unlock(with_sessions(alice, 4).pk)

    response = APIClient().get(url)

    assert response.status_code == 401
    assert not response.content.startswith(PNG_SIGNATURE)


def test_four_session_unlock_never_downgrades_paid():
    payer = UserFactory(access_status=User.AccessStatus.PAID, successful_sessions=4, session_count=4)

    assert apply_session_unlock(payer.pk) is True

    payer.refresh_from_db()
    assert payer.access_status == User.AccessStatus.PAID
    assert payer.qr_unlocked is True
    assert payer.qr_unlocked_at is not None
    assert InviteCode.objects.filter(created_by=payer, type=InviteCode.Type.USER).count() == 1


def test_session_unlock_is_idempotent(alice):
    with_sessions(alice, 5)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert apply_session_unlock(alice.pk) is True
        alice.refresh_from_db()
        first_unlocked_at = alice.qr_unlocked_at
        first_code = InviteCode.objects.get(created_by=alice).code

        traveller.shift(timedelta(hours=1))
        assert apply_session_unlock(alice.pk) is False

    alice.refresh_from_db()
    assert alice.qr_unlocked_at == first_unlocked_at
    assert list(InviteCode.objects.filter(created_by=alice).values_list("code", flat=True)) == [first_code]


def test_three_successful_sessions_do_not_unlock(alice):
    with_sessions(alice, 3)

    assert apply_session_unlock(alice.pk) is False

    alice.refresh_from_db()
    assert alice.qr_unlocked is False
    assert alice.qr_unlocked_at is None
    assert alice.access_status == User.AccessStatus.QR_GRACE_PERIOD
    assert not InviteCode.objects.filter(created_by=alice).exists()
    assert signed_in(alice).get(MY_CODE_URL).status_code == 404
