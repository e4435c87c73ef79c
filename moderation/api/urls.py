from django.urls import path

from moderation.api import export_views, views

urlpatterns = [
    path("reports", views.ReportView.as_view(), name="reports"),
    path("reports/<int:report_id>/still", views.ReportStillView.as_view(), name="report-still"),
    path("me/ban", views.MyBanView.as_view(), name="me-ban"),
    path("me/export", export_views.ExportRequestView.as_view(), name="me-export"),
    path("me/exports", export_views.ExportListView.as_view(), name="me-exports"),
    path("me/exports/<uuid:export_id>/download", export_views.ExportDownloadView.as_view(), name="me-export-download"),
]
