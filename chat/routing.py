"""WebSocket routes: one endpoint for everything (SPEC §6)."""

from django.urls import path

from chat.consumers import RealtimeConsumer
from config.metrics import metered

# metered(): sockets, frames and close codes counted (config.metrics.MeteredConsumer, README → Observability).
websocket_urlpatterns = [path("ws/", metered(RealtimeConsumer).as_asgi())]
