from django.urls import path

from moderation.api import strike_views, views

urlpatterns = [
    path("reports", views.ReportView.as_view(), name="reports"),
    path("reports/<int:report_id>/still", views.ReportStillView.as_view(), name="report-still"),
    path("me/ban", views.MyBanView.as_view(), name="me-ban"),
    path("me/strikes", strike_views.MyStrikesView.as_view(), name="me-strikes"),
    path("me/strikes/<int:strike_id>/appeal", strike_views.AppealView.as_view(), name="me-strike-appeal"),
    path("me/report-outcomes", strike_views.MyReportOutcomesView.as_view(), name="me-report-outcomes"),
]
