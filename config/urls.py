from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import pages
from config.media import serve_media
from config.metrics import metrics_view
from config.views import healthz

admin.site.site_header = "Rendezvous moderation"
admin.site.site_title = "Rendezvous admin"

urlpatterns = [
    # The web client (templates/, static/rdv/): thin pages over the API and the WebSocket.
    path("", pages.home, name="web-home"),
    path("history", pages.history, name="web-history"),
    path("settings", pages.settings_page, name="web-settings"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # METRICS_TOKEN (README → Observability)
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its init script from a URL: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.api.urls")),
    path("api/", include("referrals.api.urls")),
    path("api/", include("chat.api.urls")),
    path("api/", include("usc_cards.api.urls")),
    path("api/", include("moderation.api.urls")),
]

if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    urlpatterns.append(re_path(r"^media/(?P<path>(selfies|videos)/[A-Za-z0-9]+\.[a-z0-9]+)$", serve_media))
