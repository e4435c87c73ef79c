from django.urls import path

from chat.api import block_views, event_views, views

urlpatterns = [
    path("reel", views.ReelView.as_view(), name="reel"),
    path("me/location", views.LocationView.as_view(), name="me-location"),
    path("me/history", views.HistoryView.as_view(), name="me-history"),
    path("blocks", block_views.BlocksView.as_view(), name="blocks"),
    path("blocks/<str:user_id>", block_views.BlockDetailView.as_view(), name="block"),
    path("rtc/ice-servers", views.IceServersView.as_view(), name="ice-servers"),
    path("events/status", event_views.EventStatusView.as_view(), name="events-status"),
    path("events/rsvp", event_views.RSVPView.as_view(), name="events-rsvp"),
    path("stats/live", event_views.LiveStatsView.as_view(), name="stats-live"),
]
