"""Invite-code check, introduction links and referral notifications."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from accounts.permissions import HasAccess
from config.api import throttle
from config.client_ip import client_ip
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
            "target_name": mapping.target_name,
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
