"""The waitlist (referrals.waitlist): join, then verify the emailed code. Public endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from config.api import throttle, validated
from config.client_ip import request_ip
from config.serializers import VISIBLE_TEXT, StrictInput
from referrals import waitlist


def text_field(max_length: int) -> serializers.RegexField:
    return serializers.RegexField(
        VISIBLE_TEXT, max_length=max_length, error_messages={"invalid": "Enter some text (no NUL characters)."}
    )


class WaitlistIn(StrictInput):
    name = text_field(60)
    school = text_field(100)
    state = text_field(40)
    email = serializers.EmailField(max_length=254)


class WaitlistVerifyIn(StrictInput):
    email = serializers.EmailField(max_length=254)
    code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the 6-digit code."})


class WaitlistMessageOut(serializers.Serializer):
    message = serializers.CharField()


class WaitlistJoinView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("waitlist")]

    @extend_schema(
        request=WaitlistIn,
        responses={202: WaitlistMessageOut, **ERRORS},
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

    @extend_schema(
        request=WaitlistVerifyIn, responses={200: WaitlistMessageOut, **ERRORS}, summary="Confirm my waitlist email"
    )
    def post(self, request):
        data = validated(WaitlistVerifyIn, request)
        waitlist.verify(email=data["email"], code=data["code"])
        return Response({"message": "You are on the waitlist; we will email you an invite code."})
