from django.urls import path

from operations.api import views

urlpatterns = [
    path("me/export", views.ExportRequestView.as_view(), name="me-export"),
    path("me/exports", views.ExportListView.as_view(), name="me-exports"),
    path("me/exports/<uuid:export_id>/download", views.ExportDownloadView.as_view(), name="me-export-download"),
]
