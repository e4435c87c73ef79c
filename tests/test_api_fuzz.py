"""No input gives a server error: schemathesis drives every operation of /api/schema/ with
generated requests (bounded, derandomized), as a signed-in user with access."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.services.sessions import start_session
from tests.factories import UserFactory

EXAMPLES_PER_OPERATION = 25


# Loaded at collection: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The raw WSGI handler closes "old" connections at request end, which would close the
    test's open transaction; Django's own test client disconnects the same receivers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_throttles(settings):
    # Throttles would turn most generated requests into 429s and hide the code behind them.
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, "1000000/h")
    settings.INVITE_CODE_FAILURES_PER_HOUR = 1_000_000
    settings.USC_SCANS_PER_WINDOW = 1_000_000  # else the card endpoints answer 429 after 10 scans
    settings.USC_DISTINCT_CARDS_PER_IP = 1_000_000
    settings.REPORTS_PER_DAY = 1_000_000


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_never_get_a_server_error(case):
    # A fresh user per example: some operations log out or delete the account.
    user = UserFactory(permanent=True)
    token = start_session(user, ip="127.0.0.1")
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}\n{response.text[:2000]}"
    )
