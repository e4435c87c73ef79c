"""The OpenAPI schema tells the truth, both ways: schemathesis drives every operation of
/api/schema/ with generated requests that fit the schema (positive) and that do not
(negative), as a signed-in user with access, and checks each answer against the schema:
schema-valid requests are not refused as invalid, schema-violating ones are refused, every
status is documented, and every body (the one error body for a 4xx) matches its schema."""

import json
import re

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services.sessions import start_session
from tests.factories import UserFactory
from tests.test_api_fuzz import _keep_test_connection, _no_throttles, schema  # noqa: F401 - fixtures

EXAMPLES_PER_OPERATION = 30
# Fields whose content is judged beyond what a schema can say (an upload must decode as an
# image or a video; a cursor must be one the server handed out): a refusal naming only these
# is not the schema disagreeing with the server.
CONTENT_FIELDS = {"file", "cursor"}


def _domain_refusal(response) -> bool:
    """A 400 whose code is a domain refusal (a wrong code, an unknown card, bad credentials,
    an expired scan token…) rather than `invalid` input: the request had the right shape."""
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if error.get("code") != "invalid":
        return True
    return set(error.get("fields", {})) <= CONTENT_FIELDS


@schemathesis.check
def schema_valid_data_is_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, except for refusals only the database or a
    decoder can make (the request fitted the schema; the code or the file was wrong)."""
    if response.status_code == 400 and _domain_refusal(response):
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def schema_violating_data_is_refused(ctx, response, case):
    """schemathesis' negative_data_rejection, judged on what was sent: a negative case that
    drops the Authorization header still goes out signed in (this test adds the header back),
    so the header is put back into the case before judging. Otherwise a case whose other
    violation never reaches the server (an unknown query parameter whose value serialises to
    nothing) would count as "accepted"; with the header, schemathesis itself discounts it."""
    sent = response.request.headers.get("Authorization")
    if sent is not None:
        case.headers = {**(case.headers or {}), "Authorization": sent}
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    schema_valid_data_is_accepted,
    schema_violating_data_is_refused,
]


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_schema_matches_what_the_server_accepts_refuses_and_answers(case):
    user = UserFactory(permanent=True)
    token = start_session(user, ip="127.0.0.1")
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def test_every_4xx_response_documents_the_one_error_body():
    document = schema.raw_schema
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    seen = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            reads_input = "requestBody" in operation or operation.get("parameters")
            if reads_input or operation.get("security") != [{}]:  # a public GET of no input refuses nothing
                assert any(str(code).startswith("4") for code in operation["responses"]), f"{method} {path}"
            for code, response in operation["responses"].items():
                if str(code).startswith("4"):
                    seen += 1
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert seen > 100


def test_request_schemas_state_the_limits_the_server_checks():
    schemas = schema.raw_schema["components"]["schemas"]
    name = schemas["SignUpIn"]["properties"]["name"]
    assert name["pattern"] and schemas["PatchedMeUpdateIn"]["properties"]["name"] == name  # not blank
    assert schemas["TermsAcceptedEnum"]["enum"] == [True]  # terms_accepted (an enum component)
    password = schemas["PasswordIn"]["properties"]["password"]
    assert password["minLength"] == 10 and password["pattern"] == r"^[^\x00]*[^\d\x00][^\x00]*$"  # no all-digit
    assert schemas["ResetPasswordIn"]["properties"]["new_password"] == password
    for name in ("LoginIn", "ResetPasswordIn"):  # not blank once trimmed, as the server reads it
        pattern = schemas[name]["properties"]["email"]["pattern"]  # \x00 written \u0000 for ECMA
        assert re.match(pattern, " a@b.edu ") and not re.match(pattern, " \n\x0b ") and not re.match(pattern, "a\x00")
    assert schemas["PatchedMeUpdateIn"]["properties"]["socials"]["additionalProperties"] is False
