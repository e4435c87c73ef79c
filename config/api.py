"""REST plumbing shared by every app: one error body, throttles on Redis, pagination.

Error body (every 4xx): {"error": {"code": "...", "message": "...", "fields": {...}?, ...}}."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from config.client_ip import client_ip
from config.errors import UNAVAILABLE, RateLimited, ServiceError, error_body
from config.ratelimit import Limit

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.ParseError: "malformed",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


def _flatten(detail):
    if isinstance(detail, list):
        return [str(item) if not isinstance(item, dict | list) else _flatten(item) for item in detail]
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, UNAVAILABLE):
        return service_unavailable(exc)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413), status=413)
    if isinstance(exc, SuspiciousOperation):
        logger.warning("bad request: %s", exc, extra={"event": "request.refused"})
        return Response(error_body(400, "The request was not understood."), status=400)
    if isinstance(exc, ServiceError):
        response = Response({"error": exc.as_dict()}, status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        if exc.status == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if isinstance(fields, list):
            fields = {"non_field_errors": fields}
        body = {"code": code, "message": "Some fields are not valid.", "fields": fields}
    else:
        body = {"code": code, "message": str(exc.detail)}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
    response.data = {"error": body}
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def service_unavailable(exc) -> Response:
    """A dependency (PostgreSQL, its pool, Redis) that refuses us: 503 with Retry-After, never a traceback."""
    logger.error("service unavailable: %s: %s", type(exc).__name__, exc, extra={"event": "dependency.unavailable"})
    response = Response(error_body(503), status=503)
    response["Retry-After"] = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)
    return response


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/h" → (10, 3600); a multiple of the unit may lead the period: "10/5m" → (10, 300)."""
    count, period = rate.split("/")
    digits = period[: len(period) - len(period.lstrip("0123456789"))]
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[len(digits)]]
    return int(count), seconds * int(digits or 1)


class RedisThrottle(BaseThrottle):
    """A DRF throttle whose counter is an atomic Redis fixed window (config.ratelimit).
    Subclasses name a scope in settings.RATE_LIMITS and say what is counted (IP or user)."""

    scope: str = ""
    per = "ip"  # or "user"

    def __init__(self):
        self._wait = None

    def limit(self) -> Limit:
        max_hits, window = parse_rate(settings.RATE_LIMITS[self.scope])
        return Limit(self.scope, max_hits, window)

    def subject(self, request) -> str:
        if self.per == "user" and getattr(request, "user", None) and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{client_ip(request.META)}"

    def allow_request(self, request, view):
        try:
            self.limit().hit(self.subject(request))
        except RateLimited as exc:
            self._wait = exc.retry_after
            logger.warning(
                "throttled scope=%s subject=%s", self.scope, self.subject(request), extra={"event": "throttle.refused"}
            )
            return False
        return True

    def wait(self):
        return self._wait


def validated(serializer_class, request, **kwargs) -> dict:
    """The request body checked by `serializer_class` (a 400 with field messages if not)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def throttle(scope: str, per: str = "ip") -> type[RedisThrottle]:
    """A throttle class for one scope, e.g. throttle_classes = [throttle("login")]."""
    return type(f"{scope.title().replace('_', '')}Throttle", (RedisThrottle,), {"scope": scope, "per": per})


class NewestFirstPagination(CursorPagination):
    """Stable cursor pages (no OFFSET): ?cursor=…&page_size=… (max 100)."""

    ordering = "-created_at"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        unknown = sorted(set(request.query_params) - {self.cursor_query_param, self.page_size_query_param})
        if unknown:  # the schema lists only cursor and page_size: say so rather than ignore the rest
            raise exceptions.ValidationError({key: ["Unknown query parameter."] for key in unknown})
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        """?page_size= as the schema states it (an integer 1–100): anything else is a 400, not
        silently the default (DRF's behaviour), so the OpenAPI schema tells the truth."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # ASCII digits only: str.isdigit() accepts "²", which int() then refuses (a 500).
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"An integer from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
