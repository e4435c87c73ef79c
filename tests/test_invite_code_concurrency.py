"""Invite-code uses under real concurrency: the decrement is atomic, so parallel
sign-ups on a 4-use code give exactly 4 winners, and a code is used once per user. Real
threads, each with its own PostgreSQL connection, released together by a barrier."""

import secrets
from collections import Counter

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.selectors import hash_token
from config.errors import ServiceError
from onboarding.services import sign_up_guest
from referrals.models import InviteCode, InviteCodeUse
from tests.concurrency import run_in_parallel
from tests.factories import AuthSessionFactory, InviteCodeFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 20
SIGNUP_URL = "/api/auth/signup"
REFUSALS = {(409, "invite_code_exhausted"), (400, "invalid_invite_code")}


def api_signup(code: str):
    def work(index: int) -> tuple[int, str | None]:
        response = APIClient().post(
            SIGNUP_URL,
            {"name": f"Racer {index}", "gender": "unspecified", "terms_accepted": True, "invite_code": code},
            format="json",
            REMOTE_ADDR=f"198.51.100.{index + 1}",  # own IP: no shared failure counter or throttle
        )
        body = response.json()
        return response.status_code, body["error"]["code"] if "error" in body else None

    return work


def test_parallel_signups_on_a_4_use_user_code_give_exactly_4_accounts():
    code = InviteCodeFactory(user_code=True)

    results = run_in_parallel(PARALLEL, api_signup(code.code))

    statuses = Counter(result[0] for result in results)
    assert statuses[201] == 4, results
    refusals = [result for result in results if result[0] != 201]
    assert len(refusals) == 16
    assert set(refusals) <= REFUSALS, refusals
    code.refresh_from_db()
    assert code.uses_remaining == 0
    assert InviteCodeUse.objects.filter(code=code).count() == 4
    newcomers = User.objects.filter(invite_code_used=code.code)
    assert newcomers.count() == 4
    assert set(newcomers.values_list("access_status", flat=True)) == {User.AccessStatus.QR_GRACE_PERIOD}
    assert User.objects.filter(name__startswith="Racer").count() == 4  # refused sign-ups left no user


def test_parallel_signups_through_the_service_spend_a_4_use_code_exactly_4_times():
    code = InviteCodeFactory(user_code=True)

    def work(index: int):
        return sign_up_guest(name=f"Racer {index}", gender="female", invite_code=code.code, ip=f"203.0.113.{index + 1}")

    results = run_in_parallel(PARALLEL, work)

    winners = [result for result in results if not isinstance(result, BaseException)]
    losers = [result for result in results if isinstance(result, BaseException)]
    assert len(winners) == 4, results
    assert len(losers) == 16
    assert all(isinstance(exc, ServiceError) for exc in losers), losers
    assert {(exc.status, exc.code) for exc in losers} <= REFUSALS
    code.refresh_from_db()
    assert code.uses_remaining == 0
    assert set(InviteCodeUse.objects.filter(code=code).values_list("user_id", flat=True)) == {
        winner.user.pk for winner in winners
    }
    assert User.objects.filter(invite_code_used=code.code).count() == 4


def test_unlimited_admin_code_accepts_all_20_parallel_signups():
    code = InviteCodeFactory(type=InviteCode.Type.ADMIN, max_uses=None, uses_remaining=None)

    results = run_in_parallel(PARALLEL, api_signup(code.code))

    assert [result[0] for result in results] == [201] * PARALLEL, results
    code.refresh_from_db()
    assert code.uses_remaining is None
    assert code.max_uses is None
    assert InviteCodeUse.objects.filter(code=code).count() == PARALLEL
    assert User.objects.filter(invite_code_used=code.code).count() == PARALLEL
    assert set(User.objects.filter(invite_code_used=code.code).values_list("access_status", flat=True)) == {
        User.AccessStatus.UNPAID
    }


def test_parallel_redeems_of_one_code_by_one_user_use_it_once():
    code = InviteCodeFactory(type=InviteCode.Type.ADMIN, max_uses=10, uses_remaining=10)
    user = UserFactory(access_status=User.AccessStatus.OPEN_SIGNUP)
    token = secrets.token_urlsafe(32)
    AuthSessionFactory(user=user, token_digest=hash_token(token))

    def work(index: int) -> tuple[int, str | None]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.post(
            "/api/me/invite-code/redeem", {"code": code.code}, format="json", REMOTE_ADDR=f"198.51.100.{index + 1}"
        )
        body = response.json()
        return response.status_code, body["error"]["code"] if "error" in body else None

    results = run_in_parallel(10, work)

    assert Counter(results) == {(200, None): 1, (409, "invite_code_already_used"): 9}, results
    code.refresh_from_db()
    assert code.uses_remaining == 9
    assert InviteCodeUse.objects.filter(code=code, user=user).count() == 1
