"""SENTRY_DSN (docs/observability.md): a failure is reported, with no personal data in the
report. The events are caught by a local transport, never sent over the network."""

import json
import subprocess
import sys

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from config.sentry import init_sentry, scrub_text
from tests.api_support import PASSWORD, api, make_member
from tests.usc_support import CARD

EMAIL = "carol.private@usc.edu"


class Captured(Transport):
    envelopes: list = []

    def capture_envelope(self, envelope):
        Captured.envelopes.append(envelope)


@pytest.fixture
def reported():
    Captured.envelopes = []
    init_sentry("http://public@127.0.0.1:9/1", environment="test", transport=Captured)
    yield lambda: [item.payload.json for env in Captured.envelopes for item in env.items if item.type == "event"]
    sentry_sdk.init()  # no DSN: off again


@pytest.mark.django_db
def test_an_api_failure_is_reported_without_personal_data(reported, alice, monkeypatch):
    make_member(alice, EMAIL)
    login = api().post("/api/auth/login", {"email": EMAIL, "password": PASSWORD}, format="json")
    token = login.json()["token"]

    def broken(user):
        raise RuntimeError(f"profile of {user.email} with card {CARD} and token {token} broke")

    monkeypatch.setattr("accounts.api.views._me", broken)
    client = api(token)
    client.raise_request_exception = False
    answer = client.get("/api/me?email=" + EMAIL, HTTP_COOKIE=f"sessionid={token}")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "server_error"

    sentry_sdk.flush()
    events = reported()
    assert len(events) == 1
    event = events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    text = json.dumps(event)
    for secret in (EMAIL, CARD, token, PASSWORD, alice.name):
        assert secret not in text, secret
    assert "Authorization" not in event["request"].get("headers", {})
    assert "cookies" not in event["request"]


def test_scrub_text_removes_emails_tokens_and_card_numbers():
    text = scrub_text("x a.b@c.edu Bearer abcdefghijklmnop card 2718281828 done")
    assert "a.b@c.edu" not in text and "abcdefghijklmnop" not in text and "2718281828" not in text
    assert text.startswith("x ") and text.endswith(" done")


def test_sentry_is_off_when_sentry_dsn_is_unset():
    code = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    on = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "SENTRY_DSN": "http://k@127.0.0.1:9/1"},
        capture_output=True,
        text=True,
    )
    assert on.stdout.strip() == "True", on.stderr


def test_a_client_that_went_away_is_not_an_event_but_a_real_error_is(reported):
    from django.core.exceptions import RequestAborted
    from uvicorn.protocols.utils import ClientDisconnected

    for error in (RequestAborted(), ClientDisconnected(), RuntimeError("a real fault")):
        try:
            raise error
        except BaseException:  # noqa: BLE001 - each one captured as the integrations do
            sentry_sdk.capture_exception()
    sentry_sdk.flush()

    assert [event["exception"]["values"][-1]["type"] for event in reported()] == ["RuntimeError"]
