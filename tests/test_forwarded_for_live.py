"""X-Forwarded-For on a live uvicorn started as `make run` starts it (issue: any client chose its
own IP, because uvicorn rewrote the ASGI client from the header before config.client_ip ran).

With TRUSTED_PROXY_COUNT=0 a forged header changes nothing: the session IP, the login throttle,
the reporter IP and the distinct-cards-per-IP limit all see the TCP peer (127.0.0.1 here).
With TRUSTED_PROXY_COUNT=1 the right-most entry is the client. And when a server in front does
rewrite the peer from the header anyway, the app refuses the request instead of believing it."""

import json
import random
import urllib.error
import urllib.request

import pytest

from accounts.models import AuthSession, User
from accounts.services.sessions import start_session
from moderation.models import Report, SiteSettings
from tests.api_support import make_member
from tests.factories import ActiveRoomFactory, UserFactory
from tests.usc_support import CARD, FOURTH_CARD, OTHER_CARD, THIRD_CARD

pytestmark = pytest.mark.django_db(transaction=True)


def forged() -> str:
    return f"203.0.113.{random.randint(1, 254)}"


def call(stack, path, body=None, *, xff=None, token=None, method="POST"):
    headers = {"Content-Type": "application/json"}
    if xff is not None:
        headers["X-Forwarded-For"] = xff
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{stack.url}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def sign_up(stack, name, *, xff):
    status, body = call(stack, "/api/auth/signup", {"name": name, "gender": "female", "terms_accepted": True}, xff=xff)
    assert status == 201, body
    return body


def session_ip(name) -> str:
    return AuthSession.objects.filter(user__name=name).latest("created_at").ip


def test_without_trusted_proxies_a_forged_header_changes_no_ip(live_stack):
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": True})
    member = make_member(UserFactory(name="Target"), "target@example.com")
    stack = live_stack(
        "asgi", extra_env={"TRUSTED_PROXY_COUNT": "0", "RATE_LOGIN": "3/m", "USC_DISTINCT_CARDS_PER_IP": "3"}
    )

    # The session IP.
    sign_up(stack, "Forger", xff=forged())
    assert session_ip("Forger") == "127.0.0.1"

    # The login throttle: a new forged address each time is still the same client.
    wrong = {"email": member.email, "password": "not-the-password-1"}
    for _ in range(3):
        assert call(stack, "/api/auth/login", wrong, xff=forged())[0] == 400
    status, body = call(stack, "/api/auth/login", wrong, xff=forged())
    assert (status, body["error"]["code"]) == (429, "rate_limited")

    # The reporter's IP (which the automatic ban counts).
    reporter = User.objects.get(name="Forger")
    ActiveRoomFactory(user_1=reporter, user_2=member, ended=True)
    body = {"reported_user_id": str(member.pk), "category": "harassment", "text": "rude"}
    status, _ = call(stack, "/api/reports", body, xff=forged(), token=start_session(reporter, ip="127.0.0.1"))
    assert status == 201
    assert Report.objects.get().reporter_ip == "127.0.0.1"

    # The distinct cards per IP.
    for card in (CARD, OTHER_CARD, THIRD_CARD):
        assert call(stack, "/api/usc/verify-card", {"barcode": card}, xff=forged())[0] == 200
    status, body = call(stack, "/api/usc/verify-card", {"barcode": FOURTH_CARD}, xff=forged())
    assert (status, body["error"]["code"]) == (429, "rate_limited")


def test_with_one_trusted_proxy_the_right_most_entry_is_the_client(live_stack):
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": True})
    stack = live_stack("asgi", extra_env={"TRUSTED_PROXY_COUNT": "1", "RATE_LOGIN": "3/m"})

    sign_up(stack, "Proxied", xff="203.0.113.9, 198.51.100.23")
    assert session_ip("Proxied") == "198.51.100.23"

    # The throttle counts what the proxy saw, whatever the client wrote on the left.
    wrong = {"email": "nobody@example.com", "password": "not-the-password-1"}
    for _ in range(3):
        assert call(stack, "/api/auth/login", wrong, xff=f"{forged()}, 198.51.100.24")[0] == 400
    assert call(stack, "/api/auth/login", wrong, xff=f"{forged()}, 198.51.100.24")[0] == 429
    assert call(stack, "/api/auth/login", wrong, xff="198.51.100.24, 198.51.100.25")[0] == 400


def test_a_server_that_rewrites_the_peer_from_the_header_is_refused_not_believed(live_stack):
    """uvicorn with its proxy headers on and trusting everybody: the ASGI client is whatever the
    header says. ForwardedClientGuard notices and refuses; nothing is stored under the forged IP."""
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": True})
    stack = live_stack(
        "asgi", extra_env={"TRUSTED_PROXY_COUNT": "0"}, asgi_args=("--proxy-headers", "--forwarded-allow-ips", "*")
    )
    body = {"name": "Rewritten", "gender": "female", "terms_accepted": True}

    status, answer = call(stack, "/api/auth/signup", body, xff="203.0.113.77")

    assert (status, answer["error"]["code"]) == (400, "forwarded_for_refused")
    assert not User.objects.filter(name="Rewritten").exists()
    assert "--no-proxy-headers" in stack.log("asgi")
    sign_up(stack, "Rewritten", xff=None)  # without the header the peer is genuine
    assert session_ip("Rewritten") == "127.0.0.1"
