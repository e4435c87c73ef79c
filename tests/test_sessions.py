"""Auth sessions: bearer tokens from `secrets` stored as SHA-256,
expiry, last_active_at, bans and IP bans on every authenticated call, the single-session
rule (a new login deactivates the others and tells their sockets), logout and
logout-everywhere."""

import asyncio
import hashlib
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthSession, User
from accounts.services.sessions import start_session
from moderation.models import AuditLog
from tests.api_support import PASSWORD, api, make_member
from tests.concurrency import run_in_parallel
from tests.factories import InviteCodeFactory, IPBanFactory, UserBanFactory

pytestmark = pytest.mark.django_db


# Close to the real clock, so rows the cast fixtures create stay consistent with it.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
BANNED_IP = "198.51.100.66"


def log_in(email: str, *, ip: str = "127.0.0.1"):
    return api().post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json", REMOTE_ADDR=ip)


def sign_up(*, ip: str = "127.0.0.1"):
    payload = {"name": "Newcomer", "gender": "female", "terms_accepted": True, "invite_code": InviteCodeFactory().code}
    return api().post("/api/auth/signup", payload, format="json", REMOTE_ADDR=ip)


def session_of(token: str) -> AuthSession:
    return AuthSession.objects.get(token_digest=hashlib.sha256(token.encode()).hexdigest())


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == code
    assert body["message"]
    return body


# --- channel layer ------------------------------------------------------------------------


class SocketListener:
    """A real channel in the user's group (`user.<id>`), as a connected socket of theirs has.
    Its own layer instance (own Redis inbox) and one event loop for the whole test:
    channels_redis binds its receive buffer to the loop that first used it. A receive that
    times out can leave a blocking pop behind that swallows the next message, so a
    listener that has timed out is not asked again."""

    def __init__(self, user: User):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(f"user.{user.pk}", self.channel))

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def _receive(self, timeout: float):
        return await asyncio.wait_for(self.layer.receive(self.channel), timeout)

    def next_message(self, timeout: float = 2.0) -> dict | None:
        try:
            return self._run(self._receive(timeout))
        except TimeoutError:
            return None

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def listen_to():
    listeners = []

    def listen(user: User) -> SocketListener:
        listeners.append(SocketListener(user))
        return listeners[-1]

    yield listen
    for listener in listeners:
        listener.close()


# --- tokens ---------------------------------------------------------------------------------


def test_token_is_32_bytes_from_secrets_and_only_its_sha256_hex_is_stored(monkeypatch):
    sizes = []
    real_token_urlsafe = secrets.token_urlsafe

    def spy(nbytes=None):
        sizes.append(nbytes)
        return real_token_urlsafe(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", spy)
    response = sign_up()
    assert response.status_code == 201, response.content
    token = response.json()["token"]

    assert sizes == [32]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 bytes, URL-safe base64 without padding
    row = AuthSession.objects.get(user_id=response.json()["user"]["id"])
    assert row.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(AuthSession.objects.filter(pk=row.pk).values()))
    assert api(token).get("/api/me").status_code == 200


def test_two_sign_ups_get_different_tokens():
    first, second = sign_up().json()["token"], sign_up().json()["token"]
    assert first != second


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + secrets.token_urlsafe(32),  # well-formed but unknown
        "Bearer not a token",  # three parts
        "Bearer",  # no token
        "Bearer " + "a" * 129,  # overlong (MAX_TOKEN_LENGTH is 128)
        "Bearer t\u00f6k\u00e9n",  # not ASCII
    ],
    ids=["unknown", "spaces", "missing", "overlong", "non_ascii"],
)
def test_unknown_or_garbage_token_gets_401_invalid_token(alice, header):
    start_session(alice, ip="127.0.0.1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/me")
    assert_refused(response, 401, "invalid_token")


@pytest.mark.parametrize("refusal", ["invalid_token", "account_expired"])
def test_refused_token_401_carries_www_authenticate_header(alice, refusal):
    token = secrets.token_urlsafe(32)
    if refusal == "account_expired":
        token = start_session(alice, ip="127.0.0.1")
        User.objects.filter(pk=alice.pk).update(account_expires_at=timezone.now() - timedelta(seconds=1))
    response = api(token).get("/api/me")
    assert_refused(response, 401, refusal)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_missing_credentials_401_carries_www_authenticate_header():
    response = api().get("/api/me")
    assert_refused(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_inactive_session_gets_401(alice):
    token = start_session(alice, ip="127.0.0.1")
    assert api(token).get("/api/me").status_code == 200
    AuthSession.objects.filter(user=alice).update(is_active=False)

    assert_refused(api(token).get("/api/me"), 401, "invalid_token")


def test_session_works_until_expires_at_and_gets_401_after(alice, time_machine):
    make_member(alice, "alice@usc.edu")
    time_machine.move_to(T0, tick=False)
    token = start_session(alice, ip="127.0.0.1")
    expires_at = session_of(token).expires_at

    time_machine.move_to(expires_at - timedelta(seconds=1), tick=False)
    assert api(token).get("/api/me").status_code == 200

    time_machine.move_to(expires_at + timedelta(seconds=1), tick=False)
    assert_refused(api(token).get("/api/me"), 401, "invalid_token")


def test_guest_past_account_expires_at_gets_401_account_expired(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    token = start_session(alice, ip="127.0.0.1")
    # The session itself is still live; only the guest account has run out.
    AuthSession.objects.filter(user=alice).update(expires_at=T0 + timedelta(days=30))
    User.objects.filter(pk=alice.pk).update(account_expires_at=T0 + timedelta(days=3))

    time_machine.move_to(T0 + timedelta(days=3, seconds=1), tick=False)
    assert_refused(api(token).get("/api/me"), 401, "account_expired")


def test_permanent_account_never_expires_like_a_guest(alice, time_machine):
    make_member(alice, "alice@usc.edu")
    time_machine.move_to(T0, tick=False)
    token = start_session(alice, ip="127.0.0.1")
    time_machine.move_to(T0 + timedelta(days=29), tick=False)
    assert api(token).get("/api/me").status_code == 200


def test_guest_sign_up_session_and_account_last_7_days(time_machine):
    time_machine.move_to(T0, tick=False)
    response = sign_up()
    assert response.status_code == 201, response.content
    session = session_of(response.json()["token"])
    user = User.objects.get(pk=response.json()["user"]["id"])

    assert user.account_type == User.AccountType.GUEST
    assert session.created_at == T0
    assert session.expires_at == T0 + timedelta(days=7)
    assert user.account_expires_at == T0 + timedelta(days=7)


def test_permanent_login_session_lasts_30_days(alice, time_machine):
    make_member(alice, "alice@usc.edu")
    time_machine.move_to(T0, tick=False)
    response = log_in("alice@usc.edu")
    assert response.status_code == 200, response.content
    session = session_of(response.json()["token"])
    assert session.created_at == T0
    assert session.expires_at == T0 + timedelta(days=30)


def test_last_active_at_is_written_at_most_once_a_minute(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    token = start_session(alice, ip="127.0.0.1")
    session = session_of(token)
    assert session.last_active_at == T0

    time_machine.move_to(T0 + timedelta(seconds=30), tick=False)
    assert api(token).get("/api/me").status_code == 200
    session.refresh_from_db()
    assert session.last_active_at == T0

    # Two requests within a minute of the last write: only the first one writes.
    time_machine.move_to(T0 + timedelta(seconds=61), tick=False)
    assert api(token).get("/api/me").status_code == 200
    time_machine.move_to(T0 + timedelta(seconds=90), tick=False)
    assert api(token).get("/api/me").status_code == 200
    session.refresh_from_db()
    assert session.last_active_at == T0 + timedelta(seconds=61)

    time_machine.move_to(T0 + timedelta(seconds=122), tick=False)
    assert api(token).get("/api/me").status_code == 200
    session.refresh_from_db()
    assert session.last_active_at == T0 + timedelta(seconds=122)


def session_row_version(session_id) -> str:
    """The row's ctid: every write of the row makes a new row version (the auth statement is one
    SQL statement whether or not it writes, so the query text cannot tell)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text FROM sessions WHERE id = %s", [session_id])
        return cursor.fetchone()[0]


def test_two_requests_within_a_minute_write_the_session_row_once(alice, time_machine):
    time_machine.move_to(T0, tick=False)
    token = start_session(alice, ip="127.0.0.1")
    client = api(token)
    session_id = AuthSession.objects.get(user=alice).pk

    time_machine.move_to(T0 + timedelta(seconds=61), tick=False)
    before = session_row_version(session_id)
    assert client.get("/api/me").status_code == 200
    after_first = session_row_version(session_id)
    time_machine.move_to(T0 + timedelta(seconds=62), tick=False)
    assert client.get("/api/me").status_code == 200
    after_second = session_row_version(session_id)

    assert after_first != before  # written once
    assert after_second == after_first  # not again within the minute
    assert AuthSession.objects.get(pk=session_id).last_active_at == T0 + timedelta(seconds=61)


# --- bans -----------------------------------------------------------------------------------


@pytest.mark.parametrize("ban_status", [User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT])
def test_banned_user_gets_403_banned_with_ban_status_on_me(alice, ban_status):
    token = start_session(alice, ip="127.0.0.1")
    UserBanFactory(user=alice, status=ban_status)
    User.objects.filter(pk=alice.pk).update(ban_status=ban_status)

    body = assert_refused(api(token).get("/api/me"), 403, "banned")
    assert body["ban_status"] == ban_status


@pytest.mark.parametrize("ban_status", [User.BanStatus.TEMPORARY, User.BanStatus.PERMANENT])
def test_banned_user_can_still_read_their_ban(alice, ban_status):
    token = start_session(alice, ip="127.0.0.1")
    UserBanFactory(user=alice, status=ban_status, reason="4 reports")
    User.objects.filter(pk=alice.pk).update(ban_status=ban_status)

    response = api(token).get("/api/me/ban")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ban_status"] == ban_status
    assert body["reason"] == "4 reports"
    assert body["review_status"] == "pending"


def test_vindicated_user_is_not_refused(alice):
    token = start_session(alice, ip="127.0.0.1")
    User.objects.filter(pk=alice.pk).update(ban_status=User.BanStatus.VINDICATED)
    response = api(token).get("/api/me")
    assert response.status_code == 200
    assert response.json()["ban_status"] == "vindicated"


def test_stranger_without_a_session_cannot_read_a_ban_status():
    assert_refused(api().get("/api/me/ban"), 401, "not_authenticated")


# --- IP bans -------------------------------------------------------------------------------

IP_BANS_IN_FORCE = {
    "permanent": lambda: IPBanFactory(ip=BANNED_IP, expires_at=None),
    "unexpired": lambda: IPBanFactory(ip=BANNED_IP, expires_at=timezone.now() + timedelta(hours=1)),
}


@pytest.mark.parametrize("make_ban", IP_BANS_IN_FORCE.values(), ids=IP_BANS_IN_FORCE.keys())
def test_ip_banned_address_gets_403_ip_banned_on_authenticated_calls(alice, make_ban):
    token = start_session(alice, ip="127.0.0.1")
    make_ban()
    assert_refused(api(token).get("/api/me", REMOTE_ADDR=BANNED_IP), 403, "ip_banned")
    # The same session from another address is fine: the ban is on the network, not the user.
    assert api(token).get("/api/me", REMOTE_ADDR="192.0.2.10").status_code == 200


@pytest.mark.parametrize("make_ban", IP_BANS_IN_FORCE.values(), ids=IP_BANS_IN_FORCE.keys())
def test_ip_banned_address_gets_403_ip_banned_on_sign_up(make_ban):
    make_ban()
    users_before = User.objects.count()
    assert_refused(sign_up(ip=BANNED_IP), 403, "ip_banned")
    assert User.objects.count() == users_before
    assert not AuthSession.objects.exists()


@pytest.mark.parametrize("make_ban", IP_BANS_IN_FORCE.values(), ids=IP_BANS_IN_FORCE.keys())
def test_ip_banned_address_gets_403_ip_banned_on_login(alice, make_ban):
    make_member(alice, "alice@usc.edu")
    make_ban()
    assert_refused(log_in("alice@usc.edu", ip=BANNED_IP), 403, "ip_banned")
    assert not AuthSession.objects.filter(user=alice).exists()


def test_expired_ip_ban_blocks_nothing(alice):
    make_member(alice, "alice@usc.edu")
    now = timezone.now()
    IPBanFactory(ip=BANNED_IP, banned_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1))

    assert sign_up(ip=BANNED_IP).status_code == 201
    response = log_in("alice@usc.edu", ip=BANNED_IP)
    assert response.status_code == 200, response.content
    assert api(response.json()["token"]).get("/api/me", REMOTE_ADDR=BANNED_IP).status_code == 200


# --- single session -------------------------------------------------------------------------


def test_new_login_deactivates_other_sessions_and_tells_their_sockets(
    alice, listen_to, django_capture_on_commit_callbacks
):
    make_member(alice, "alice@usc.edu")
    old_token = log_in("alice@usc.edu").json()["token"]
    old_session = session_of(old_token)
    listener, probe = listen_to(alice), listen_to(alice)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = log_in("alice@usc.edu")
        assert response.status_code == 200, response.content
        # Nothing reaches the sockets before the login's transaction commits.
        assert probe.next_message(timeout=0.3) is None
    assert len(callbacks) == 1

    assert listener.next_message() == {
        "type": "push",
        "event": {"type": "session_invalidated", "sessions": [old_session.pk], "reason": "new_login"},
    }
    old_session.refresh_from_db()
    assert old_session.is_active is False
    new_session = session_of(response.json()["token"])
    assert new_session.is_active is True
    assert list(AuthSession.objects.filter(user=alice, is_active=True)) == [new_session]

    assert_refused(api(old_token).get("/api/me"), 401, "invalid_token")
    assert api(response.json()["token"]).get("/api/me").status_code == 200


def test_first_login_tells_no_socket(alice, listen_to, django_capture_on_commit_callbacks):
    make_member(alice, "alice@usc.edu")
    listener = listen_to(alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert log_in("alice@usc.edu").status_code == 200
    assert callbacks == []
    assert listener.next_message(timeout=0.3) is None


def test_new_login_leaves_other_users_sessions_alone(alice, bob):
    make_member(alice, "alice@usc.edu")
    bob_token = start_session(bob, ip="127.0.0.1")
    log_in("alice@usc.edu")
    log_in("alice@usc.edu")
    assert session_of(bob_token).is_active is True
    assert api(bob_token).get("/api/me").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_parallel_logins_of_one_user_leave_exactly_one_active_session(alice):
    make_member(alice, "alice@usc.edu")

    def login(_index):
        return api().post("/api/auth/login", {"email": "alice@usc.edu", "password": PASSWORD}, format="json")

    responses = run_in_parallel(2, login)

    assert sorted(r.status_code for r in responses) == [200, 200], [r.content for r in responses]
    assert AuthSession.objects.filter(user=alice).count() == 2
    active = list(AuthSession.objects.filter(user=alice, is_active=True))
    assert len(active) == 1
    tokens = [r.json()["token"] for r in responses]
    statuses = sorted(api(token).get("/api/me").status_code for token in tokens)
    assert statuses == [200, 401]


# --- logout ---------------------------------------------------------------------------------


def test_logout_deactivates_only_the_current_session(alice, bob, listen_to, django_capture_on_commit_callbacks):
    make_member(alice, "alice@usc.edu")
    earlier_token = log_in("alice@usc.edu").json()["token"]
    token = log_in("alice@usc.edu").json()["token"]
    bob_token = start_session(bob, ip="127.0.0.1")
    listener = listen_to(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(token).post("/api/auth/logout")
    assert response.status_code == 204

    current, earlier, bobs = session_of(token), session_of(earlier_token), session_of(bob_token)
    assert current.is_active is False
    assert earlier.is_active is False  # already ended by the second login, untouched here
    assert bobs.is_active is True
    assert listener.next_message() == {
        "type": "push",
        "event": {"type": "session_invalidated", "sessions": [current.pk], "reason": "logout"},
    }
    assert_refused(api(token).get("/api/me"), 401, "invalid_token")
    assert api(bob_token).get("/api/me").status_code == 200
    assert not AuditLog.objects.filter(event_type="auth.logout_everywhere").exists()


def test_logout_without_a_session_gets_401():
    assert_refused(api().post("/api/auth/logout"), 401, "not_authenticated")


def test_logout_everywhere_deactivates_all_sessions_and_writes_an_audit_row(alice, bob):
    make_member(alice, "alice@usc.edu")
    tokens = [log_in("alice@usc.edu").json()["token"] for _ in range(3)]
    bob_token = start_session(bob, ip="127.0.0.1")

    response = api(tokens[-1]).post("/api/auth/logout-everywhere", REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 204

    assert not AuthSession.objects.filter(user=alice, is_active=True).exists()
    assert AuthSession.objects.filter(user=alice).count() == 3
    for token in tokens:
        assert_refused(api(token).get("/api/me"), 401, "invalid_token")
    assert session_of(bob_token).is_active is True
    audit = AuditLog.objects.get(event_type="auth.logout_everywhere")
    assert audit.actor_id == alice.pk
    assert audit.target_id == alice.pk
    assert audit.ip == "192.0.2.44"
    assert audit.details == {"sessions": 1}


def test_logout_everywhere_without_a_session_gets_401_and_writes_nothing():
    assert_refused(api().post("/api/auth/logout-everywhere"), 401, "not_authenticated")
    assert not AuditLog.objects.exists()
