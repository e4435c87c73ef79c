"""My data: POST /api/me/export, my exports, the owner-only download (operations/exports.py)."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from config.client_ip import request_ip
from moderation.models import DataExport
from operations import exports


class DataExportOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=DataExport.Status.values)
    requested_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="24 h after it was ready; then 410")
    size_bytes = serializers.IntegerField(allow_null=True)
    download_url = serializers.SerializerMethodField(help_text="GET it with your token; null unless ready")

    def get_download_url(self, export) -> str | None:
        if export.status != DataExport.Status.READY or exports.is_expired(export) or not export.file:
            return None
        return f"/api/me/exports/{export.pk}/download"


class ExportRequestView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: DataExportOut,
            429: OpenApiResponse(description="One export a day (`rate_limited`, Retry-After until the next)"),
            **ERRORS,
        },
        summary="Request my data export (built in the background, link emailed)",
    )
    def post(self, request):
        export = exports.request_export(request.user, ip=request_ip(request))
        return Response(DataExportOut(export).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(summary="My data exports, newest first")
class ExportListView(ListAPIView):
    serializer_class = DataExportOut
    pagination_class = None

    def get_queryset(self):
        return exports.my_exports(self.request.user).order_by("-requested_at")[:10]


class ExportDownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            404: OpenApiResponse(description="`not_found`: no such export of yours (the same for anyone else's)"),
            409: OpenApiResponse(description="`export_not_ready`: still being built, or failed"),
            410: OpenApiResponse(description="`export_expired`: past its 24 hours"),
            **ERRORS,
        },
        summary="Download my data export (the owner's token only)",
    )
    def get(self, request, export_id):
        handle, export = exports.open_download(request.user, export_id=export_id, ip=request_ip(request))
        name = f"rendezvous-data-{export.ready_at:%Y-%m-%d}.json"
        response = FileResponse(handle, content_type="application/json", as_attachment=True, filename=name)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
