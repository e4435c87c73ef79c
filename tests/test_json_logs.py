"""LOG_FORMAT=json (docs/observability.md): every line is a JSON object with the request id,
user id, IP and a countable event for refusals and failures, and no line carries the test
user's token, email or card number."""

import io
import json
import logging

import pytest

from accounts.models import AuthSession
from config.logs import ConsoleFormatter, ContextFilter, JsonLines
from tests.api_support import PASSWORD, api, make_member
from tests.factories import UserFactory
from tests.usc_support import CARD, scan

pytestmark = pytest.mark.django_db

EMAIL = "alice.secret@usc.edu"


@pytest.fixture
def captured():
    """The root logger's lines, formatted as LOG_FORMAT=json formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [line for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


def test_json_lines_parse_carry_context_and_no_secrets(captured, alice, settings):
    settings.USC_TEST_ID_DENYLIST = [CARD]
    make_member(alice, EMAIL)
    other = make_member(UserFactory(), "bob.other@usc.edu")

    assert api().post("/api/auth/login", {"email": EMAIL, "password": "wrong-" + PASSWORD}, format="json").status_code
    login = api().post("/api/auth/login", {"email": EMAIL, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    token = login.json()["token"]
    api(token).post("/api/me/email", {"email": other.email}, format="json", HTTP_X_REQUEST_ID="req-12345678")
    scan(CARD)  # a denylisted card: refused, logged with its last 4 digits only

    lines = captured()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert records
    text = "\n".join(lines)
    for secret in (token, EMAIL, other.email, CARD, PASSWORD):
        assert secret not in text, secret
    for record in records:
        assert {"time", "level", "logger", "message", "event", "request_id", "user_id", "ip"} <= record.keys()
    # Refusals and failures carry a countable event name.
    for record in records:
        if "refused" in record["message"] or "failed" in record["message"]:
            assert record["event"], record
    failed_login = next(r for r in records if r["event"] == "login.failed")
    assert failed_login["request_id"] and failed_login["ip"] == "127.0.0.1"
    assert any(r["event"] == "usc_scan.refused" for r in records)
    authed = [r for r in records if r["request_id"] == "req-12345678"]
    assert authed, records
    assert all(r["user_id"] == str(alice.pk) for r in authed)
    assert AuthSession.objects.filter(user=alice).exists()


def test_the_request_id_is_echoed_and_a_bad_one_replaced(client):
    good = client.get("/healthz", HTTP_X_REQUEST_ID="abc-12345678")
    bad = client.get("/healthz", HTTP_X_REQUEST_ID="no spaces\nor newlines")
    assert good["X-Request-ID"] == "abc-12345678"
    assert bad["X-Request-ID"] != "no spaces\nor newlines" and len(bad["X-Request-ID"]) == 32


def test_the_console_format_stays_one_readable_line():
    record = logging.LogRecord(
        "rendezvous.x", logging.WARNING, __file__, 1, "sign-up refused ip=%s", ("1.2.3.4",), None
    )
    record.event = "signup.refused"
    line = ConsoleFormatter("%(levelname)s %(name)s %(message)s").format(record)
    assert line == "WARNING rendezvous.x sign-up refused ip=1.2.3.4 [signup.refused]"


def test_settings_pick_the_json_formatter_with_log_format_json():
    import subprocess
    import sys

    code = (
        "import django, logging; django.setup(); from django.conf import settings;"
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x", "LOG_FORMAT": "json", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "json"
