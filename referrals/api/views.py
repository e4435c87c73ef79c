"""Invite-code check, my invite code (and its QR), introduction links and referral notifications."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as account_s
from accounts.api.views import ERRORS
from accounts.permissions import HasAccess
from config.api import throttle
from config.client_ip import client_ip
from config.errors import NotFound
from referrals import selectors, services
from referrals.api import serializers as s


class ValidateInviteCodeView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("code_check")]

    @extend_schema(request=s.ValidateCodeIn, responses={200: s.ValidateCodeOut, **ERRORS}, summary="Check a code")
    def post(self, request):
        serializer = s.ValidateCodeIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = services.find_usable_invite_code(serializer.validated_data["code"], ip=client_ip(request.META))
        return Response({"valid": True, "type": code.type})


class ReferralCreateView(APIView):
    permission_classes = [HasAccess]
    throttle_classes = [throttle("referral_create", per="user")]

    @extend_schema(
        request=s.ReferralIn,
        responses={201: s.ReferralOut, 404: OpenApiResponse(description="No such user"), **ERRORS},
        summary="Make an introduction link",
    )
    def post(self, request):
        serializer = s.ReferralIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = services.create_referral(
            created_by=request.user, target_user_id=serializer.validated_data["target_user_id"]
        )
        body = {
            "referral_code": mapping.referral_code,
            "target_user_id": mapping.target_user_id,
            "signup_url": f"{settings.SITE_URL.rstrip('/')}/?ref={mapping.referral_code}",
        }
        return Response(s.ReferralOut(body).data, status=status.HTTP_201_CREATED)


class NotificationListView(ListAPIView):
    serializer_class = s.NotificationOut

    def get_queryset(self):
        return selectors.list_referral_notifications(self.request.user)


class NotificationReadView(APIView):
    @extend_schema(request=s.MarkReadIn, responses={200: s.MarkReadOut, **ERRORS}, summary="Mark as read")
    def post(self, request):
        serializer = s.MarkReadIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.mark_notifications_read(request.user, ids=serializer.validated_data.get("ids"))
        return Response({"updated": updated})


def _my_invite_code(user):
    code = selectors.get_user_invite_code(user)
    if code is None:
        raise NotFound("You get an invite code once verified or after 4 successful calls.")
    return code


class MyInviteCodeView(APIView):
    @extend_schema(responses={200: account_s.InviteCodeOut, 404: OpenApiResponse(description="Not unlocked yet")})
    def get(self, request):
        code = _my_invite_code(request.user)
        return Response(
            {
                "code": code.code,
                "type": code.type,
                "max_uses": code.max_uses,
                "uses_remaining": code.uses_remaining,
                "signup_url": services.signup_url(code.code),
            }
        )


class IgnoreAcceptHeader(BaseContentNegotiation):
    """The PNG view answers image/png whatever the client accepts (errors stay JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class MyInviteCodePngView(APIView):
    content_negotiation_class = IgnoreAcceptHeader

    @extend_schema(responses={(200, "image/png"): bytes, 404: OpenApiResponse(description="Not unlocked yet")})
    def get(self, request):
        code = _my_invite_code(request.user)
        response = HttpResponse(services.invite_code_qr_png(code.code), content_type="image/png")
        response["Cache-Control"] = "private, max-age=300"
        return response
