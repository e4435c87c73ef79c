"""ASGI entry point: HTTP through Django, WebSocket /ws/ through Channels."""

import os
import warnings

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# WhiteNoise serves static files with a synchronous file iterator, which Django's ASGI handler
# reads on a thread (the files are small) after warning once per process: a warning about a
# choice made on purpose, printed by every worker on its first static file.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
django_asgi_app = get_asgi_application()  # before importing consumers (they import models)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from config.body_limit import BodySizeLimit  # noqa: E402
from config.client_ip import ForwardedClientGuard  # noqa: E402
from config.deadline import ResponseDeadline  # noqa: E402
from config.gc_tuning import tune_after_startup  # noqa: E402
from config.health_asgi import HealthFirst  # noqa: E402
from config.realtime import PushLoopMiddleware  # noqa: E402
from config.sentry import AsyncioOnFirstCall  # noqa: E402

# ForwardedClientGuard: a client address forged with X-Forwarded-For never gets in (config.client_ip);
# BodySizeLimit: an oversized body is refused before Django reads it (config.body_limit).
# PushLoopMiddleware: what a sync view commits is pushed from this event loop (config.realtime).
# HealthFirst: GET /healthz answered before everything else, in one turn of a busy event loop.
application = AsyncioOnFirstCall(
    HealthFirst(
        ForwardedClientGuard(
            BodySizeLimit(
                ProtocolTypeRouter(
                    {
                        # ResponseDeadline: no answer waits on a stalled dependency past the deadline (503).
                        "http": ResponseDeadline(PushLoopMiddleware(django_asgi_app)),
                        # No Origin check: sockets authenticate with a token in their first message, never a
                        # cookie, so another site's page cannot act as the user (and native apps send no Origin).
                        "websocket": URLRouter(websocket_urlpatterns),
                    }
                )
            )
        )
    )
)

# The loaded application never dies: load the URL conf now (it is otherwise imported by the first
# request), then the collector stops scanning all of it (config/gc_tuning.py).
get_resolver().url_patterns  # noqa: B018
tune_after_startup()
