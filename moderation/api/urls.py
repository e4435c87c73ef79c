from django.urls import path

from moderation.api import views

urlpatterns = [
    path("reports", views.ReportView.as_view(), name="reports"),
    path("me/ban", views.MyBanView.as_view(), name="me-ban"),
]
