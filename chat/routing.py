"""WebSocket routes (the realtime consumer arrives with the realtime issue)."""

websocket_urlpatterns: list = []
