from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config import pages
from config.media import serve_media
from config.metrics import metrics_view
from config.views import asyncapi_document, healthz

admin.site.site_header = "Rendezvous moderation"
admin.site.site_title = "Rendezvous admin"

urlpatterns = [
    # The web client (templates/, static/rdv/): thin pages over the API and the WebSocket.
    path("", pages.home, name="web-home"),
    path("history", pages.history, name="web-history"),
    path("matches", pages.matches, name="web-matches"),
    path("waitlist", pages.waitlist, name="web-waitlist"),
    path("settings", pages.settings_page, name="web-settings"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # METRICS_TOKEN (README → Observability)
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its init script as a file of its own (no inline script: works under a strict CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/asyncapi.json", asyncapi_document, name="asyncapi"),  # the WebSocket protocol (AsyncAPI 3)
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/", include("accounts.api.urls")),
    path("api/", include("onboarding.api.urls")),
    path("api/", include("referrals.api.urls")),
    path("api/", include("chat.api.urls")),
    path("api/", include("usc_cards.api.urls")),
    path("api/", include("moderation.api.urls")),
    path("api/", include("operations.api.urls")),
]

if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    urlpatterns.append(re_path(r"^media/(?P<path>(selfies|videos)/[A-Za-z0-9]+\.[a-z0-9]+)$", serve_media))
