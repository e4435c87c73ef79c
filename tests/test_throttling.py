"""Rate limits: every throttled endpoint answers 429 `rate_limited` with a
Retry-After header once over its settings.RATE_LIMITS rate; counters are per IP or per user
as each endpoint says, and live in Redis, shared by every process."""

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from accounts.models import EmailVerification
from accounts.services.sessions import start_session
from config.api import parse_rate
from config.errors import RateLimited
from config.ratelimit import Limit
from tests.factories import InviteCodeFactory

# Endpoints with a rate this high are tested at this many hits instead (keeps the suite fast).
MAX_HITS_PER_TEST = 40
HOME_IP = "10.20.0.1"
OTHER_IP = "10.20.0.2"


@dataclass(frozen=True)
class Endpoint:
    scope: str
    method: str
    path: str
    body: Callable[[], dict]
    per: str = "ip"  # or "user": what the counter is keyed on
    signed_in: bool = False
    format: str = "json"


def _valid_invite_code() -> dict:
    # A code that exists, so the per-IP failure limit (5 wrong codes an hour) never triggers.
    return {"code": InviteCodeFactory().code}


ENDPOINTS = [
    Endpoint(
        "signup", "post", "/api/auth/signup", lambda: {"name": "Newcomer", "gender": "female", "terms_accepted": True}
    ),
    Endpoint("login", "post", "/api/auth/login", lambda: {"email": "nobody@usc.edu", "password": "wrong password"}),
    Endpoint("password_forgot", "post", "/api/auth/password/forgot", lambda: {"email": "nobody@usc.edu"}),
    Endpoint(
        "code_check",
        "post",
        "/api/auth/password/reset",
        lambda: {"email": "nobody@usc.edu", "code": "123456", "new_password": "short"},
    ),
    Endpoint("code_check", "post", "/api/invite-codes/validate", _valid_invite_code),
    # Bodies the serializer refuses, so no other limit (3 codes an hour, wrong codes) interferes.
    Endpoint("code_check", "post", "/api/me/invite-code/redeem", lambda: {"code": ""}, "ip", signed_in=True),
    Endpoint("email_send", "post", "/api/me/email", lambda: {"email": "not-an-email"}, "user", signed_in=True),
    Endpoint("email_verify", "post", "/api/me/email/verify", lambda: {"code": "abc"}, "user", signed_in=True),
    Endpoint("upload", "put", "/api/me/selfie", dict, "user", signed_in=True, format="multipart"),
    Endpoint("upload", "put", "/api/me/video", dict, "user", signed_in=True, format="multipart"),
    Endpoint("referral_create", "post", "/api/referrals", dict, "user", signed_in=True),
    # Blocking and unblocking share one budget; an empty body and an unknown id touch nothing.
    Endpoint("block", "post", "/api/blocks", dict, "user", signed_in=True),
    Endpoint("block", "delete", f"/api/blocks/{uuid.UUID(int=1)}", dict, "user", signed_in=True),
    Endpoint(
        "call_photos", "post", f"/api/calls/{uuid.UUID(int=1)}/photos", dict, "user", signed_in=True, format="multipart"
    ),
]
IP_ENDPOINTS = [e for e in ENDPOINTS if e.per == "ip"]
USER_ENDPOINTS = [e for e in ENDPOINTS if e.per == "user"]


def endpoint_id(endpoint: Endpoint) -> str:
    return f"{endpoint.scope}:{endpoint.method.upper()} {endpoint.path}"


def for_ip(endpoint, user=None) -> Callable:
    """A function calling the endpoint (as `user` if it needs a session) from a given address."""
    client = APIClient()
    if endpoint.signed_in:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {start_session(user, ip=HOME_IP)}")

    def call(ip: str = HOME_IP, **extra):
        return getattr(client, endpoint.method)(
            endpoint.path, endpoint.body(), format=endpoint.format, REMOTE_ADDR=ip, **extra
        )

    return call


def raw_redis() -> redis.Redis:
    return redis.Redis.from_url(django_settings.REDIS_URL)


def set_rate(settings, scope: str, rate: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: rate}


def assert_rate_limited(response, window_seconds: int) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= window_seconds
    assert error["retry_after"] == retry_after


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_throttled_endpoint_gives_429_with_retry_after_past_its_rate(alice, settings, endpoint):
    max_hits, window = parse_rate(settings.RATE_LIMITS[endpoint.scope])
    if max_hits > MAX_HITS_PER_TEST:
        max_hits = MAX_HITS_PER_TEST
        set_rate(settings, endpoint.scope, f"{max_hits}/{settings.RATE_LIMITS[endpoint.scope].split('/')[1]}")
    call = for_ip(endpoint, alice)

    for _ in range(max_hits):
        response = call()
        assert response.status_code != 429, response.content
    response = call()

    assert_rate_limited(response, window)
    subject = f"user:{alice.pk}" if endpoint.per == "user" else f"ip:{HOME_IP}"
    key = Limit(endpoint.scope, max_hits, window).key(subject)
    assert int(raw_redis().get(key)) == max_hits + 1
    assert 0 < raw_redis().ttl(key) <= window


@pytest.mark.parametrize("endpoint", IP_ENDPOINTS, ids=endpoint_id)
def test_ip_counters_are_per_client_address(alice, settings, endpoint):
    set_rate(settings, endpoint.scope, "2/h")
    call = for_ip(endpoint, alice)
    assert [call().status_code == 429 for _ in range(2)] == [False, False]
    assert_rate_limited(call(), 3600)

    assert call(OTHER_IP).status_code != 429
    # X-Forwarded-For is written by the client and is not trusted without configured proxies.
    assert_rate_limited(call(HOME_IP, HTTP_X_FORWARDED_FOR=OTHER_IP), 3600)
    assert_rate_limited(call(), 3600)


@pytest.mark.parametrize("endpoint", USER_ENDPOINTS, ids=endpoint_id)
def test_user_counters_are_per_user_whatever_the_address(alice, bob, settings, endpoint):
    set_rate(settings, endpoint.scope, "2/h")
    as_alice, as_bob = for_ip(endpoint, alice), for_ip(endpoint, bob)
    assert [as_alice().status_code == 429 for _ in range(2)] == [False, False]
    assert_rate_limited(as_alice(), 3600)

    assert_rate_limited(as_alice(OTHER_IP), 3600)  # a new address does not help alice
    assert as_bob(HOME_IP).status_code != 429  # bob shares her address, not her counter


def test_behind_a_trusted_proxy_the_counter_is_the_address_the_proxy_saw(db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    set_rate(settings, "signup", "2/h")
    signup = next(e for e in ENDPOINTS if e.scope == "signup")
    call = for_ip(signup)
    proxy = "192.0.2.10"

    for _ in range(2):
        assert call(proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {HOME_IP}").status_code != 429
    # The client forging a different first entry is still the same address to our proxy.
    assert_rate_limited(call(proxy, HTTP_X_FORWARDED_FOR=f"7.7.7.7, {HOME_IP}"), 3600)
    # Another student behind the same proxy has their own counter.
    assert call(proxy, HTTP_X_FORWARDED_FOR=OTHER_IP).status_code != 429


def test_scopes_have_separate_counters(db, settings):
    set_rate(settings, "login", "1/h")
    login = for_ip(next(e for e in ENDPOINTS if e.scope == "login"))
    signup = for_ip(next(e for e in ENDPOINTS if e.scope == "signup"))
    login()
    assert_rate_limited(login(), 3600)

    assert signup().status_code == 403  # requires_invite_code, not rate_limited


def test_email_send_is_throttled_per_user_before_the_3_codes_an_hour_rule(alice, settings):
    set_rate(settings, "email_send", "2/h")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {start_session(alice, ip=HOME_IP)}")

    statuses = [
        client.post("/api/me/email", {"email": f"alice{n}@usc.edu"}, format="json", REMOTE_ADDR=HOME_IP).status_code
        for n in range(3)
    ]

    assert statuses == [202, 202, 429]
    assert EmailVerification.objects.filter(user=alice).count() == 2


def test_five_wrong_invite_codes_per_ip_then_even_a_valid_code_gets_429(db, settings):
    code = InviteCodeFactory().code
    client = APIClient()

    def validate(value, ip=HOME_IP):
        return client.post("/api/invite-codes/validate", {"code": value}, format="json", REMOTE_ADDR=ip)

    assert validate(code).status_code == 200  # successes are not failures
    for n in range(settings.INVITE_CODE_FAILURES_PER_HOUR):
        response = validate(f"WRONGCODE{n:07d}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_invite_code"

    assert_rate_limited(validate(code), 3600)
    assert validate(code, ip=OTHER_IP).json() == {"valid": True, "type": "admin"}


# --- The counter lives in Redis ---------------------------------------------------------------


def test_a_hit_counted_by_one_limit_instance_is_seen_by_a_new_instance_and_by_raw_redis(db):
    first = Limit("shared_probe", 2, 60)
    first.hit("ip:192.0.2.1")
    first.hit("ip:192.0.2.1")

    second = Limit("shared_probe", 2, 60)
    with pytest.raises(RateLimited) as refused:
        second.check("ip:192.0.2.1")
    assert 1 <= refused.value.retry_after <= 60
    assert int(raw_redis().get("rdv:rl:shared_probe:ip:192.0.2.1")) == 2  # check() does not count
    with pytest.raises(RateLimited):
        second.hit("ip:192.0.2.1")
    assert int(raw_redis().get("rdv:rl:shared_probe:ip:192.0.2.1")) == 3
    Limit("shared_probe", 2, 60).hit("ip:192.0.2.2")  # another subject is not limited


def test_hits_recorded_by_another_process_limit_this_process(db, settings):
    """A separate Python process (another worker, say) counts login attempts for an address
    through config.ratelimit; the API in this process then refuses that address."""
    max_hits, window = parse_rate(settings.RATE_LIMITS["login"])
    script = (
        "import django; django.setup()\n"
        "from config.ratelimit import Limit\n"
        f"for _ in range({max_hits}): Limit('login', {max_hits}, {window}).hit('ip:{HOME_IP}')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTEST_VERSION": os.environ.get("PYTEST_VERSION", "x"),
        "REDIS_TEST_URL": settings.REDIS_URL,
        "DEBUG": "1",
    }
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True, timeout=60)

    login = for_ip(next(e for e in ENDPOINTS if e.scope == "login"))
    assert_rate_limited(login(), window)
    assert login(OTHER_IP).status_code == 400  # invalid_credentials, not limited


def test_deleting_the_redis_key_lifts_the_limit(db, settings):
    set_rate(settings, "signup", "1/h")
    signup = for_ip(next(e for e in ENDPOINTS if e.scope == "signup"))
    signup()
    assert_rate_limited(signup(), 3600)

    raw_redis().delete(Limit("signup", 1, 3600).key(f"ip:{HOME_IP}"))

    assert signup().status_code == 403


def test_at_most_3_code_emails_an_hour_per_user_whatever_the_purpose(alice):
    """At most 3 sends per hour per user (not 3 per purpose)."""
    alice.email, alice.email_verified = "alice@usc.edu", True
    alice.account_type, alice.account_expires_at = "permanent", None
    alice.set_password("a long enough passphrase 42")
    alice.save()
    anonymous = APIClient()
    for _ in range(3):
        response = anonymous.post("/api/auth/password/forgot", {"email": "alice@usc.edu"}, format="json")
        assert response.status_code == 202
    assert EmailVerification.objects.filter(user=alice).count() == 3
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {start_session(alice, ip=HOME_IP)}")

    response = client.post("/api/me/email", {"email": "alice.new@usc.edu"}, format="json")

    assert EmailVerification.objects.filter(user=alice).count() == 3
    assert_rate_limited(response, 3600)
