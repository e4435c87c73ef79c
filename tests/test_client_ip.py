"""The client IP: REMOTE_ADDR unless TRUSTED_PROXY_COUNT proxies are configured, then
the X-Forwarded-For entry that many places from the right; never the first (client-written)
entry, so a spoofed header can neither dodge an IP ban nor frame somebody else."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from config.client_ip import client_ip, client_ip_from_scope
from tests.factories import InviteCodeFactory, IPBanFactory

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
SPOOF = "203.0.113.99"


def meta(xff: str | None = None, remote: str = PROXY) -> dict:
    data = {"REMOTE_ADDR": remote}
    if xff is not None:
        data["HTTP_X_FORWARDED_FOR"] = xff
    return data


# --- no trusted proxy -----------------------------------------------------------------------


@pytest.mark.parametrize("xff", [None, "", CLIENT, f"{SPOOF}, {CLIENT}"])
def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings, xff):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(meta(xff, remote="192.0.2.5")) == "192.0.2.5"


def test_without_remote_addr_the_address_is_unknown(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip({}) is None
    assert client_ip({"REMOTE_ADDR": "not-an-ip"}) is None


# --- trusted proxies ------------------------------------------------------------------------


def test_with_one_trusted_proxy_the_rightmost_entry_is_used(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(meta(CLIENT)) == CLIENT
    assert client_ip(meta(f"{SPOOF}, {CLIENT}")) == CLIENT
    assert client_ip(meta(f"1.1.1.1, {SPOOF},{CLIENT}")) == CLIENT


def test_with_two_trusted_proxies_the_second_entry_from_the_right_is_used(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(meta(f"{CLIENT}, 10.0.0.1")) == CLIENT
    assert client_ip(meta(f"{SPOOF}, {CLIENT}, 10.0.0.1")) == CLIENT
    assert client_ip(meta(f"1.1.1.1, {SPOOF}, {CLIENT}, 10.0.0.1")) == CLIENT


@pytest.mark.parametrize("proxies", [1, 2, 3])
def test_the_first_entry_is_never_used_when_the_client_wrote_it(settings, proxies):
    settings.TRUSTED_PROXY_COUNT = proxies
    genuine = [f"192.0.2.{n}" for n in range(1, proxies + 1)]  # what our proxies appended
    chain = ", ".join([SPOOF, *genuine])
    assert client_ip(meta(chain)) == genuine[0]
    assert client_ip(meta(chain)) != SPOOF


def test_empty_entries_written_by_the_client_do_not_shift_the_chain(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(meta(f"{SPOOF}, , {CLIENT}")) == CLIENT
    assert client_ip(meta(f"{SPOOF},,{CLIENT}")) == CLIENT


@pytest.mark.parametrize(
    "xff",
    ["garbage", f"{SPOOF}, garbage", f"{CLIENT}, 999.1.1.1", f"{SPOOF}, {CLIENT}; drop table", "unknown"],
)
def test_garbage_entry_falls_back_to_remote_addr(settings, xff):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(meta(xff)) == PROXY


@pytest.mark.parametrize("xff", [None, "", " , "])
def test_missing_x_forwarded_for_falls_back_to_remote_addr(settings, xff):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(meta(xff)) == PROXY


def test_chain_shorter_than_the_trusted_proxy_count_falls_back_to_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(meta(CLIENT)) == PROXY


def test_entries_are_trimmed_and_ipv6_is_normalized(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(meta("  198.51.100.7  ")) == CLIENT
    assert client_ip(meta(f"{SPOOF}, 2001:DB8:0:0::1")) == "2001:db8::1"


def test_websocket_scope_follows_the_same_rule(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    scope = {"client": (PROXY, 51000), "headers": [(b"x-forwarded-for", f"{SPOOF}, {CLIENT}".encode())]}
    assert client_ip_from_scope(scope) == CLIENT
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip_from_scope(scope) == PROXY


# --- end to end: IP bans behind a proxy -----------------------------------------------------


def sign_up(xff: str):
    payload = {"name": "Newcomer", "gender": "female", "terms_accepted": True, "invite_code": InviteCodeFactory().code}
    return APIClient().post("/api/auth/signup", payload, format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=xff)


@pytest.mark.django_db
def test_ip_ban_on_the_proxied_client_address_blocks_sign_up(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    IPBanFactory(ip=CLIENT)
    users_before = User.objects.count()

    response = sign_up(CLIENT)

    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "ip_banned"
    assert User.objects.count() == users_before


@pytest.mark.django_db
def test_spoofed_leftmost_entry_cannot_dodge_an_ip_ban(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    IPBanFactory(ip=CLIENT)

    response = sign_up(f"{SPOOF}, {CLIENT}")  # the banned client pretends to be SPOOF

    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "ip_banned"


@pytest.mark.django_db
def test_spoofed_leftmost_entry_cannot_frame_a_banned_address_on_someone_else(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    IPBanFactory(ip=CLIENT)
    innocent = "192.0.2.50"

    response = sign_up(f"{CLIENT}, {innocent}")  # an innocent client writes the banned address first

    assert response.status_code == 201, response.content
    assert User.objects.filter(auth_sessions__ip=innocent).count() == 1


@pytest.mark.django_db
def test_without_trusted_proxies_a_banned_address_in_x_forwarded_for_blocks_nobody(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    IPBanFactory(ip=CLIENT)

    response = sign_up(CLIENT)

    assert response.status_code == 201, response.content
    assert User.objects.filter(auth_sessions__ip=PROXY).count() == 1
