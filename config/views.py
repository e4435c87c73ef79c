from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chat.asyncapi import document
from config.health import run_checks


@never_cache
@require_GET
def healthz(request):
    """200 {database: ok, redis: ok, migrations: applied, persistence: ok}; 503 naming the failing part
    (a persistence violation is reported in the body, not as a 503: see config.health)."""
    ok, report = run_checks()
    return JsonResponse(report, status=200 if ok else 503)


@require_GET
def asyncapi_document(request):
    """The WebSocket protocol as an AsyncAPI 3 document (chat/asyncapi.py)."""
    return JsonResponse(document(), json_dumps_params={"ensure_ascii": False})
