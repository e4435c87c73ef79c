"""Moderation endpoints: POST /api/reports, GET /api/me/ban."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as account_s
from accounts.api.views import ERRORS
from accounts.permissions import HasAccess, IsSignedIn
from config.api import throttle, validated
from config.client_ip import request_ip
from moderation import services, stills
from moderation.api import serializers as s
from moderation.selectors import get_ban_summary


class ReportView(APIView):
    permission_classes = [HasAccess]

    @extend_schema(
        request=s.ReportIn,
        responses={
            201: s.ReportOut,
            400: OpenApiResponse(description="Invalid input"),
            401: OpenApiResponse(description="Not authenticated"),
            403: OpenApiResponse(description="Banned, no access, or cannot_report (no shared room)"),
            404: OpenApiResponse(description="No such user"),
            409: OpenApiResponse(description="already_reported"),
            429: OpenApiResponse(description="More than 20 reports in a day (Retry-After header)"),
        },
        summary="Report a user",
    )
    def post(self, request):
        data = validated(s.ReportIn, request)
        result = services.submit_report(
            request.user,
            reported_id=data["reported_user_id"],
            category=data["category"],
            text=data["text"],
            room_id=data["room_id"],
            ip=request_ip(request),
        )
        return Response(s.ReportOut(result.report).data, status=status.HTTP_201_CREATED)


@extend_schema(
    request={"multipart/form-data": account_s.FileIn},
    responses={
        200: s.ReportOut,
        400: OpenApiResponse(description="Not an image we can read, or larger than 5 MB"),
        401: OpenApiResponse(description="Not authenticated"),
        404: OpenApiResponse(description="No report of yours from the last 5 minutes with that id"),
        409: OpenApiResponse(description="still_attached"),
    },
    summary="Attach a still of the partner's video to my report",
)
class ReportStillView(APIView):
    """The web client captures the still itself when its user reports from a video call; the
    server keeps it as staff-only evidence, re-encoded without metadata."""

    permission_classes = [HasAccess]
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [throttle("upload", per="user")]

    def post(self, request, report_id: int):
        data = validated(account_s.FileIn, request)
        report = stills.attach_still(request.user, report_id=report_id, upload=data["file"], ip=request_ip(request))
        return Response(s.ReportOut(report).data)


class MyBanView(APIView):
    permission_classes = [IsSignedIn]  # a banned user may read this

    @extend_schema(responses={200: account_s.BanOut, 401: ERRORS[401]}, summary="My ban status")
    def get(self, request):
        return Response(account_s.BanOut(get_ban_summary(request.user)).data)
