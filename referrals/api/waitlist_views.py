"""The waitlist (referrals.waitlist): join, then verify the emailed code. Public endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from config.api import throttle, validated
from config.client_ip import request_ip
from referrals import waitlist


class WaitlistIn(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    school = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=40)
    email = serializers.EmailField(max_length=254)


class WaitlistVerifyIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    code = serializers.CharField(max_length=12)


class MessageOut(serializers.Serializer):
    message = serializers.CharField()


class WaitlistJoinView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("waitlist")]

    @extend_schema(
        request=WaitlistIn,
        responses={202: MessageOut, **ERRORS},
        summary="Join the waitlist (a 6-digit code is emailed; same answer for every address)",
    )
    def post(self, request):
        data = validated(WaitlistIn, request)
        message = waitlist.join(**data, ip=request_ip(request))
        return Response({"message": message}, status=202)


class WaitlistVerifyView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("code_check")]

    @extend_schema(request=WaitlistVerifyIn, responses={200: MessageOut, **ERRORS}, summary="Confirm my waitlist email")
    def post(self, request):
        data = validated(WaitlistVerifyIn, request)
        waitlist.verify(email=data["email"], code=data["code"])
        return Response({"message": "You are on the waitlist; we will email you an invite code."})
