"""/api/docs/ (Swagger UI) and /api/redoc/ in real Chromium with no internet: every request
that leaves the test server is refused, and the pages still list the API's operations
(their JavaScript and CSS come from drf-spectacular-sidecar through our static files)."""

from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from playwright.sync_api import expect

WAIT_MS = 20_000


def operation_count() -> int:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sum(
        1 for item in schema["paths"].values() for method in item if method in {"get", "post", "put", "patch", "delete"}
    )


def offline_page(browser, stack):
    """A page whose requests to any host but the test server are aborted (and recorded)."""
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    local = urlsplit(stack.url).netloc

    def only_local(route):
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_local)
    return page, outside


def test_swagger_ui_lists_the_operations_offline(live_stack, browser, screenshots):
    stack = live_stack("asgi")
    page, outside = offline_page(browser, stack)
    page.goto(f"{stack.url}/api/docs/")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".opblock-summary-path", has_text="/api/auth/login").first).to_be_visible()
    expect(operations).to_have_count(operation_count())
    screenshots(page, "swagger-ui")
    assert outside == []


def test_redoc_lists_the_operations_offline(live_stack, browser, screenshots):
    stack = live_stack("asgi")
    page, outside = offline_page(browser, stack)
    page.goto(f"{stack.url}/api/redoc/")
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached(timeout=WAIT_MS)
    expect(page.locator("[data-section-id^='operation/']")).to_have_count(operation_count())
    screenshots(page, "redoc")
    # Redoc's bundle always asks for its "API docs by Redocly" logo; it hides the image when that fails.
    assert set(outside) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}


@pytest.mark.django_db
def test_the_docs_pages_name_no_other_host():
    """Pinned, packaged assets only: no CDN URL in either page, and collectstatic finds them."""
    client = Client()
    for url in ("/api/docs/", "/api/redoc/"):
        html = client.get(url).content.decode()
        assert "http://" not in html and "https://" not in html, html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
