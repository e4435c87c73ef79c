"""Every response under /api/ has the one JSON error body, in DEBUG too (the Django pages that
answered HTML: the resolver's 404, a suspicious request's 400, an uncaught exception's 500)."""

import pytest

from accounts.api import views
from tests.api_support import api, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug(settings):
    settings.DEBUG = True


def assert_json_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()["error"]
    assert body["code"] == code
    assert body["message"]


def test_an_unknown_api_path_is_a_json_404():
    assert_json_error(api().get("/api/no-such-endpoint"), 404, "not_found")
    assert_json_error(api().post("/api/no/such/thing", {}, format="json"), 404, "not_found")


def test_a_wrong_method_is_a_json_405():
    assert_json_error(api().delete("/api/auth/login"), 405, "method_not_allowed")


def test_an_unsupported_content_type_is_a_json_415():
    response = api().post("/api/auth/login", "email=a", content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_a_json_400():
    response = api().post("/api/auth/login", "{not json", content_type="application/json")
    assert_json_error(response, 400, "malformed")


def test_too_many_form_fields_is_a_json_400_not_a_django_page(alice, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"f{n}": "x" for n in range(50)}
    response = signed_in(alice).put("/api/me/selfie", fields, format="multipart")
    assert_json_error(response, 400, "bad_request")


def test_an_uncaught_exception_is_a_json_500_without_a_traceback(alice, monkeypatch):
    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get", explode)
    client = signed_in(alice)
    client.raise_request_exception = False

    response = client.get("/api/me")

    assert_json_error(response, 500, "server_error")
    assert b"boom" not in response.content and b"Traceback" not in response.content


def test_pages_outside_the_api_keep_their_html_404():
    response = api().get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


DEEP_JSON = "[" * 30_000


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/signup", "/api/waitlist"])
def test_json_nested_too_deeply_is_a_400_malformed_without_login(path):
    response = api().post(path, DEEP_JSON, content_type="application/json")
    assert_json_error(response, 400, "malformed")


def test_json_nested_too_deeply_is_a_400_malformed_when_signed_in(alice):
    response = signed_in(alice).post("/api/reports", DEEP_JSON, content_type="application/json")
    assert_json_error(response, 400, "malformed")


def test_a_reel_cursor_nested_too_deeply_is_a_400_naming_the_cursor(alice):
    import base64

    cursor = base64.urlsafe_b64encode(DEEP_JSON.encode()).decode()
    response = signed_in(alice).get("/api/reel", {"cursor": cursor})
    assert_json_error(response, 400, "invalid")
    assert "cursor" in response.json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/api/me/history", "/api/matches", "/api/blocks", "/api/referrals/notifications"])
@pytest.mark.parametrize("page_size", ["²", "٣", "1²", "¹⁰"])
def test_a_non_ascii_digit_in_page_size_is_a_400_naming_the_field(alice, path, page_size):
    response = signed_in(alice).get(path, {"page_size": page_size})
    assert_json_error(response, 400, "invalid")
    assert list(response.json()["error"]["fields"]) == ["page_size"]
