"""IP bans: every entry point refuses a banned address until the ban expires or
is lifted; the address is the client IP under the trusted-proxy rule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from moderation import services
from moderation.errors import InvalidIPAddress
from moderation.models import AuditLog, IPBan, SiteSettings
from tests.api_support import PASSWORD, api, make_member, signed_in
from tests.ws_helpers import run

BANNED = "198.51.100.66"


@pytest.fixture
def open_signup(db):
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": True})


def sign_up(ip):
    body = {"name": "Newcomer", "gender": "female", "terms_accepted": True}
    return api().post("/api/auth/signup", body, format="json", REMOTE_ADDR=ip)


def log_in(email, ip):
    return api().post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json", REMOTE_ADDR=ip)


def code(response):
    return response.json()["error"]["code"]


def test_ip_ban_blocks_signup_login_and_authenticated_calls(open_signup, alice, moderator):
    make_member(alice, "alice@usc.edu")
    client = signed_in(alice)
    services.ban_ip(BANNED, moderator=moderator, reason="abuse")

    assert code(sign_up(BANNED)) == "ip_banned"
    assert log_in("alice@usc.edu", BANNED).status_code == 403
    assert code(log_in("alice@usc.edu", BANNED)) == "ip_banned"
    refused = client.get("/api/me", REMOTE_ADDR=BANNED)
    assert (refused.status_code, code(refused)) == (403, "ip_banned")
    # Other addresses are untouched.
    assert sign_up("198.51.100.67").status_code == 201
    assert client.get("/api/me", REMOTE_ADDR="198.51.100.67").status_code == 200


def test_ip_ban_expires_at_its_time(open_signup, moderator, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    services.ban_ip(BANNED, moderator=moderator, expires_at=timezone.now() + timedelta(hours=1))
    assert sign_up(BANNED).status_code == 403

    time_machine.shift(timedelta(hours=1, seconds=1))

    assert sign_up(BANNED).status_code == 201
    assert IPBan.objects.filter(ip=BANNED).exists()  # expiry is read, not swept


def test_lifted_ip_ban_lets_the_address_in_with_audit_rows(open_signup, moderator):
    services.ban_ip(BANNED, moderator=moderator, reason="abuse", ip="192.0.2.9")
    assert services.lift_ip_ban(BANNED, moderator=moderator) is True
    assert sign_up(BANNED).status_code == 201
    events = list(AuditLog.objects.order_by("pk").values_list("event_type", "details__ip_ban", "actor"))
    assert events == [("ip_ban.created", BANNED, moderator.pk), ("ip_ban.lifted", BANNED, moderator.pk)]
    assert services.lift_ip_ban(BANNED, moderator=moderator) is False


def test_ip_ban_applies_to_the_address_the_trusted_proxy_saw(open_signup, moderator, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    services.ban_ip(BANNED, moderator=moderator)
    # The client writes the first X-Forwarded-For entry itself: it cannot dodge or frame.
    dodging = api().post(
        "/api/auth/signup",
        {"name": "N", "gender": "female", "terms_accepted": True},
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=f"203.0.113.1, {BANNED}",
    )
    assert code(dodging) == "ip_banned"
    framed = api().post(
        "/api/auth/signup",
        {"name": "N", "gender": "female", "terms_accepted": True},
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=f"{BANNED}, 203.0.113.1",
    )
    assert framed.status_code == 201


def test_invalid_address_or_past_expiry_is_refused(moderator):
    with pytest.raises(InvalidIPAddress):
        services.ban_ip("999.1.1.1", moderator=moderator)
    with pytest.raises(InvalidIPAddress):
        services.ban_ip(BANNED, moderator=moderator, expires_at=timezone.now() - timedelta(seconds=1))
    assert not IPBan.objects.exists()
    assert not AuditLog.objects.exists()


def test_ipv6_addresses_are_stored_in_canonical_form(moderator):
    ban = services.ban_ip("2001:DB8:0:0::1", moderator=moderator)
    assert ban.ip == "2001:db8::1"


def test_banning_an_address_again_replaces_the_expiry(moderator):
    services.ban_ip(BANNED, moderator=moderator, expires_at=timezone.now() + timedelta(days=1))
    services.ban_ip(BANNED, moderator=moderator, expires_at=None, reason="for good")
    ban = IPBan.objects.get(ip=BANNED)
    assert (ban.expires_at, ban.reason) == (None, "for good")


@pytest.mark.django_db(transaction=True)
async def test_ip_ban_closes_a_websocket_connect_4003(ws):
    from tests.factories import UserFactory

    user = await run(UserFactory)(name="Walker")
    moderator = await run(UserFactory)(staff=True)
    await run(services.ban_ip)("127.0.0.1", moderator=moderator)  # the test socket's address
    socket = await ws.raw()
    await socket.send({"type": "auth", "token": await ws.token_for(user)})

    code_, reason, _ = await socket.expect_close()
    assert (code_, reason) == (4003, "ip_banned")

    await run(services.lift_ip_ban)("127.0.0.1", moderator=moderator)
    assert (await ws.connect(user)).user == user


def test_ip_ban_blocks_both_password_reset_steps(alice, moderator, mailoutbox):
    make_member(alice, "alice@usc.edu")
    services.ban_ip(BANNED, moderator=moderator)

    forgot = api().post("/api/auth/password/forgot", {"email": "alice@usc.edu"}, format="json", REMOTE_ADDR=BANNED)
    reset = api().post(
        "/api/auth/password/reset",
        {"email": "alice@usc.edu", "code": "123456", "new_password": "a much longer passphrase"},
        format="json",
        REMOTE_ADDR=BANNED,
    )

    assert (forgot.status_code, code(forgot)) == (403, "ip_banned")
    assert (reset.status_code, code(reset)) == (403, "ip_banned")
    assert mailoutbox == []  # no code went out to the banned address's requester
