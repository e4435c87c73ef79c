"""GET /api/rtc/ice-servers: the configured STUN servers and, when TURN is
configured, short-lived TURN credentials in coturn's shared-secret scheme (username =
"<expiry>:<user id>", credential = base64(HMAC-SHA1(secret, username))); 10 per hour per user."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from tests.chat_support import signed_in

pytestmark = pytest.mark.django_db

ICE = "/api/rtc/ice-servers"
STUN = ["stun:stun.example.org:3478"]
TURN = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
SECRET = "coturn-static-auth-secret"


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


@pytest.fixture
def turn(settings):
    settings.STUN_URLS = STUN
    settings.TURN_URLS = TURN
    settings.TURN_SECRET = SECRET
    settings.TURN_CREDENTIAL_TTL = 600
    return settings


def test_it_returns_stun_and_a_turn_entry_with_coturn_shared_secret_credentials(alice, turn, clock):
    response = signed_in(alice).get(ICE)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ttl"] == 600
    stun, relay = body["ice_servers"]
    assert stun == {"urls": STUN}
    assert relay["urls"] == TURN
    expiry, user_id = relay["username"].split(":")
    assert user_id == str(alice.pk)
    assert int(expiry) == int((datetime.now(UTC) + timedelta(seconds=600)).timestamp())
    expected = hmac.new(SECRET.encode(), relay["username"].encode(), hashlib.sha1).digest()
    assert relay["credential"] == base64.b64encode(expected).decode()


def test_the_credential_is_bound_to_the_user_and_the_secret(alice, bob, turn):
    alices = signed_in(alice).get(ICE).json()["ice_servers"][1]
    bobs = signed_in(bob).get(ICE).json()["ice_servers"][1]

    assert bobs["username"].endswith(f":{bob.pk}")
    assert alices["credential"] != bobs["credential"]
    forged = hmac.new(b"another secret", alices["username"].encode(), hashlib.sha1).digest()
    assert alices["credential"] != base64.b64encode(forged).decode()


def test_without_turn_settings_there_is_no_turn_entry(alice, settings):
    settings.STUN_URLS = STUN
    settings.TURN_URLS = []
    settings.TURN_SECRET = ""

    body = signed_in(alice).get(ICE).json()

    assert body["ice_servers"] == [{"urls": STUN}]


def test_turn_urls_without_a_secret_give_no_turn_entry(alice, settings):
    settings.STUN_URLS = STUN
    settings.TURN_URLS = TURN
    settings.TURN_SECRET = ""

    body = signed_in(alice).get(ICE).json()

    assert all("credential" not in server for server in body["ice_servers"])
    assert [server["urls"] for server in body["ice_servers"]] == [STUN]


def test_the_11th_call_within_the_hour_is_429_and_other_users_are_unaffected(alice, bob, turn):
    client = signed_in(alice)
    for _ in range(10):
        assert client.get(ICE).status_code == 200

    response = client.get(ICE)

    assert_refused(response, 429, "rate_limited")
    assert 0 < int(response["Retry-After"]) <= 3600
    assert signed_in(bob).get(ICE).status_code == 200


def test_a_stranger_without_a_session_gets_401(turn):
    response = APIClient().get(ICE)

    assert_refused(response, 401, "not_authenticated")
    assert "ice_servers" not in response.json()
