from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chat.asyncapi import document
from config.health import report_for
from config.metrics import has_metrics_token


@never_cache
@require_GET
def healthz(request):
    """200 {database: ok, redis: ok, migrations: applied, persistence: ok}; 503 naming the failing part
    as "error" (a persistence violation is reported as "violation", not as a 503: see config.health).
    Why a check fails is logged, and shown only to a request carrying METRICS_TOKEN."""
    status, body = report_for(operator=has_metrics_token(request))
    return JsonResponse(body, status=status)


@require_GET
def asyncapi_document(request):
    """The WebSocket protocol as an AsyncAPI 3 document (chat/asyncapi.py)."""
    return JsonResponse(document(), json_dumps_params={"ensure_ascii": False})
