"""Every response under /api/ carries the one JSON error body, whatever produced it.

DRF views already answer through config.api.exception_handler. What is left: Django's own pages
(the URL resolver's 404, a 400 for a suspicious request, the DEBUG technical 404/500 pages) and
exceptions no DRF view caught. A dependency that refuses us (config.errors.UNAVAILABLE) is a
503 with Retry-After on every path, never a traceback page, in DEBUG too."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import HttpResponse, JsonResponse

from config.errors import UNAVAILABLE, error_body

# Additions to CONTENT_SECURITY_POLICY by path prefix. Scripts stay 'self' everywhere (Swagger UI
# and Redoc are served from drf-spectacular-sidecar; Swagger's init script is a URL of its own,
# SpectacularSwaggerSplitView): the admin and Swagger UI need inline styles, Redoc inline styles
# and a blob: web worker.
CSP_PATH_UPDATES = {
    "/admin/": {"style-src": ["'unsafe-inline'"]},
    "/api/docs/": {"style-src": ["'unsafe-inline'"]},
    "/api/redoc/": {"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]},
}

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _is_json(response) -> bool:
    return (response.get("Content-Type") or "").startswith("application/json")


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            replaced = JsonResponse(error_body(response.status_code), status=response.status_code)
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, UNAVAILABLE):
            logger.error(
                "service unavailable on %s: %s: %s",
                request.path,
                type(exception).__name__,
                exception,
                extra={"event": "dependency.unavailable"},
            )
            if is_api(request):
                response = JsonResponse(error_body(503), status=503)
            else:
                response = HttpResponse(
                    "Service briefly unavailable; try again shortly.", status=503, content_type="text/plain"
                )
            response["Retry-After"] = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
            return response
        if is_api(request):
            logger.exception("unhandled error on %s", request.path, extra={"event": "request.failed"})
            # As Django's own 500 path does: error reporters (and the test client, which then
            # re-raises) listen to this signal.
            got_request_exception.send(sender=self.__class__, request=request)
            return JsonResponse(error_body(500), status=500)
        return None


class CSPPathPolicy:
    """Sets django-csp's per-response update for the paths in CSP_PATH_UPDATES. Listed after
    csp.middleware.CSPMiddleware, so it runs before that one writes the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        for prefix, update in CSP_PATH_UPDATES.items():
            if request.path.startswith(prefix) and getattr(response, "_csp_update", None) is None:
                response._csp_update = update
        return response


class OneThreadForTheChain:
    """Last in MIDDLEWARE, and sync only, so that under ASGI every middleware above it runs on the
    request's thread in one hand-off from the event loop.

    Django picks each middleware's mode from the bottom up: below a sync-only one it must be
    sync, and an async-capable MiddlewareMixin middleware (sessions, common, CSRF, auth,
    messages, X-Frame-Options) left in async mode hands each of its process_request/process_view/
    process_response back to a thread and waits for the event loop to resume it. Our views are
    sync, so each of those was a round trip through a busy loop for nothing. With this at the
    bottom the chain is one hand-off and the view runs on that same thread (asgiref's
    thread-sensitive mode): a request makes 5 hand-offs instead of 15 (the others: Django's
    request_started/finished signals and the response's close)."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
