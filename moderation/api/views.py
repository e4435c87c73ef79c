"""Moderation endpoints: POST /api/reports, GET /api/me/ban."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as account_s
from accounts.api.views import ERRORS
from accounts.permissions import HasAccess, IsSignedIn
from config.api import validated
from config.client_ip import request_ip
from moderation import services
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


class MyBanView(APIView):
    permission_classes = [IsSignedIn]  # a banned user may read this

    @extend_schema(responses={200: account_s.BanOut, 401: ERRORS[401]}, summary="My ban status")
    def get(self, request):
        return Response(account_s.BanOut(get_ban_summary(request.user)).data)
