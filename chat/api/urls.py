from django.urls import path

from chat.api import block_views, event_views, match_views, photo_views, views

urlpatterns = [
    path("reel", views.ReelView.as_view(), name="reel"),
    path("reel/by-code", views.CallByCodeView.as_view(), name="reel-by-code"),
    path("me/location", views.LocationView.as_view(), name="me-location"),
    path("me/history", views.HistoryView.as_view(), name="me-history"),
    path("blocks", block_views.BlocksView.as_view(), name="blocks"),
    path("blocks/<str:user_id>", block_views.BlockDetailView.as_view(), name="block"),
    path("rooms/<uuid:room_id>/meet-again", match_views.MeetAgainView.as_view(), name="meet-again"),
    path("matches", match_views.MatchListView.as_view(), name="matches"),
    path("matches/<uuid:match_id>", match_views.MatchView.as_view(), name="match"),
    path("matches/<uuid:match_id>/socials", match_views.MatchSocialsView.as_view(), name="match-socials"),
    path("calls/<uuid:room_id>/photos", photo_views.CallPhotosView.as_view(), name="call-photos"),
    path("photos/<uuid:photo_id>", photo_views.PhotoView.as_view(), name="photo"),
    path("rtc/ice-servers", views.IceServersView.as_view(), name="ice-servers"),
    path("events/status", event_views.EventStatusView.as_view(), name="events-status"),
    path("events/rsvp", event_views.RSVPView.as_view(), name="events-rsvp"),
    path("stats/live", event_views.LiveStatsView.as_view(), name="stats-live"),
]
