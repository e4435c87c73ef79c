from django.urls import path

from chat.api import event_views, views

urlpatterns = [
    path("reel", views.ReelView.as_view(), name="reel"),
    path("me/location", views.LocationView.as_view(), name="me-location"),
    path("me/history", views.HistoryView.as_view(), name="me-history"),
    path("rtc/ice-servers", views.IceServersView.as_view(), name="ice-servers"),
    path("events/status", event_views.EventStatusView.as_view(), name="events-status"),
    path("events/rsvp", event_views.RSVPView.as_view(), name="events-rsvp"),
    path("stats/live", event_views.LiveStatsView.as_view(), name="stats-live"),
]
