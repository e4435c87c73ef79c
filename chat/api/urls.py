from django.urls import path

from chat.api import views

urlpatterns = [
    path("reel", views.ReelView.as_view(), name="reel"),
    path("me/location", views.LocationView.as_view(), name="me-location"),
    path("me/history", views.HistoryView.as_view(), name="me-history"),
    path("rtc/ice-servers", views.IceServersView.as_view(), name="ice-servers"),
]
