"""A card ID is stored only as HMAC-SHA256(ID, server secret) + last 4 digits. After a
full flow (scans, USC sign-up, finalize, email, make-permanent, card login, refusals) no
text or JSON column of any table holds the raw 10-digit ID or the 14-digit barcode, and no
log line or Redis key does either."""

import pytest
from django.apps import apps
from django.db import connection, models
from django.test import TestCase

from config.ratelimit import redis_client
from tests.api_support import PASSWORD, api
from tests.usc_support import (
    CARD,
    CARD_BARCODE,
    OTHER_CARD,
    finalize,
    last_emailed_code,
    login_complete,
    login_start,
    scan,
    scan_token,
    usc_signup,
)

pytestmark = pytest.mark.django_db

OTHER_BARCODE = OTHER_CARD + "0042"
DENYLISTED = "4669201609"
SECRETS = [CARD, CARD_BARCODE, OTHER_CARD, OTHER_BARCODE, DENYLISTED]
MODEL_TEXT_FIELDS = (
    models.CharField,
    models.TextField,
    models.JSONField,
    models.FileField,
    models.GenericIPAddressField,
)
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "inet", "cidr", "ARRAY")


def run_full_flow():
    # Sign-up by card (14-digit barcode), finalize, a verified @usc.edu email, permanent.
    signup = usc_signup(scan_token(CARD_BARCODE))
    assert signup.status_code == 201
    token = signup.json()["token"]
    assert finalize(token).status_code == 200
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert api(token).post("/api/me/email", {"email": "trojan@usc.edu"}, format="json").status_code == 202
    verified = api(token).post("/api/me/email/verify", {"code": last_emailed_code()}, format="json")
    assert verified.status_code == 200
    assert api(token).post("/api/me/make-permanent", {"password": PASSWORD}, format="json").status_code == 200
    # Card login, with a wrong code first.
    assert login_start(CARD).status_code == 202
    assert login_complete("000000" if last_emailed_code() != "000000" else "111111").status_code == 400
    assert login_complete(last_emailed_code(), CARD_BARCODE).status_code == 200
    # A second card: scanned, used by an existing account through finalize with a token, and
    # the skip branch; refused scans too (a registered card, a deny-listed test ID).
    other = api().post(
        "/api/auth/signup",
        {"name": "Other", "gender": "female", "terms_accepted": True, "usc_scan_token": scan_token(OTHER_BARCODE)},
        format="json",
        REMOTE_ADDR="203.0.113.9",
    )
    assert other.status_code == 201
    assert api(other.json()["token"]).post("/api/me/skip-permanent").status_code == 200
    assert scan(CARD).status_code == 409
    assert scan(DENYLISTED, ip="203.0.113.10").status_code == 400
    assert login_start(OTHER_CARD, ip="203.0.113.11").status_code == 409  # no verified email


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type = ANY(%s)
            ORDER BY table_name, column_name
            """,
            [list(TEXT_TYPES)],
        )
        return cursor.fetchall()


def test_no_table_holds_a_raw_card_id_or_barcode_after_a_full_flow(settings, caplog):
    settings.USC_TEST_ID_DENYLIST = [DENYLISTED]
    caplog.set_level("DEBUG")

    run_full_flow()

    columns = text_columns()
    model_columns = {
        (model._meta.db_table, field.column)
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy
        for field in model._meta.concrete_fields
        if isinstance(field, MODEL_TEXT_FIELDS)
    }
    assert model_columns - set(columns) == set()  # every model's text and JSON column is searched
    assert ("usc_scan_attempts", "validation_errors") in columns
    assert ("audit_log", "details") in columns
    found = []
    with connection.cursor() as cursor:
        for table, column in columns:
            for secret in SECRETS:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE strpos("{column}"::text, %s) > 0',  # noqa: S608 - names from the catalog
                    [secret],
                )
                if cursor.fetchone()[0]:
                    found.append((table, column, secret))
    assert found == []
    # The flow really wrote what we searched.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM usc_card_registrations")
        assert cursor.fetchone()[0] == 2
        cursor.execute("SELECT count(*) FROM usc_scan_attempts")
        assert cursor.fetchone()[0] >= 8
    assert not [secret for secret in SECRETS if secret in caplog.text]
    keys = [key.decode() for key in redis_client().keys("*")]
    assert not [key for key in keys for secret in SECRETS if secret in key]
