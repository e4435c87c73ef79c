"""WebSocket routes: one endpoint for everything. Any other path is refused at the
handshake (HTTP 403, as Channels answers a socket it does not accept), not a 500 with a
traceback in the log."""

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from chat.consumers import RealtimeConsumer
from config.metrics import metered


class NoSuchEndpoint(AsyncWebsocketConsumer):
    """A socket to a path that is not /ws/: refused before it is accepted."""

    async def connect(self):
        await self.close()


# metered(): sockets, frames and close codes counted (config.metrics.MeteredConsumer, README → Observability).
websocket_urlpatterns = [
    path("ws/", metered(RealtimeConsumer).as_asgi()),
    re_path(r"", NoSuchEndpoint.as_asgi()),
]
