"""WebSocket routes: one endpoint for everything (SPEC §6)."""

from django.urls import path

from chat.consumers import RealtimeConsumer

websocket_urlpatterns = [path("ws/", RealtimeConsumer.as_asgi())]
