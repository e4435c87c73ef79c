"""Onboarding endpoints: sign-up, the email and permanent steps, redeeming an invite code."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.api.views import ERRORS
from config.api import throttle, validated
from config.client_ip import request_ip, user_agent
from onboarding import services


def _me(user) -> dict:
    return s.MeOut(user).data


class SignUpView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("signup")]

    @extend_schema(request=s.SignUpIn, responses={201: s.SessionOut, **ERRORS}, summary="Guest sign-up")
    def post(self, request):
        data = validated(s.SignUpIn, request)
        result = services.sign_up_guest(
            name=data["name"],
            gender=data["gender"],
            invite_code=data.get("invite_code") or None,
            referral_code=data.get("referral_code") or None,
            usc_scan_token=data.get("usc_scan_token") or None,
            ip=request_ip(request),
            user_agent=user_agent(request),
        )
        return Response({"token": result.token, "user": _me(result.user)}, status=status.HTTP_201_CREATED)


class EmailStartView(APIView):
    throttle_classes = [throttle("email_send", per="user")]

    @extend_schema(request=s.EmailIn, responses={202: s.MessageOut, **ERRORS}, summary="Send an email code")
    def post(self, request):
        data = validated(s.EmailIn, request)
        services.request_email_verification(request.user, data["email"])
        return Response({"detail": "A code was sent to that address."}, status=status.HTTP_202_ACCEPTED)


class EmailVerifyView(APIView):
    throttle_classes = [throttle("email_verify", per="user")]

    @extend_schema(request=s.CodeIn, responses={200: s.MeOut, **ERRORS}, summary="Verify the email code")
    def post(self, request):
        data = validated(s.CodeIn, request)
        return Response(_me(services.verify_email(request.user, data["code"].strip())))


class MakePermanentView(APIView):
    @extend_schema(request=s.PasswordIn, responses={200: s.MeOut, **ERRORS}, summary="Guest → permanent")
    def post(self, request):
        data = validated(s.PasswordIn, request)
        user = services.make_permanent(
            request.user, password=data["password"], session=request.auth, ip=request_ip(request)
        )
        return Response(_me(user))


class SkipPermanentView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.MeOut, **ERRORS, 409: OpenApiResponse(description="Card bound to another account")},
        summary="Stay a guest for now (finalizes a pending USC card registration)",
    )
    def post(self, request):
        return Response(_me(services.skip_permanent(request.user, ip=request_ip(request))))


class RedeemInviteCodeView(APIView):
    throttle_classes = [throttle("code_check")]

    @extend_schema(request=s.InviteCodeIn, responses={200: s.MeOut, **ERRORS}, summary="Use an invite code")
    def post(self, request):
        data = validated(s.InviteCodeIn, request)
        return Response(_me(services.redeem_invite_code(request.user, data["code"], ip=request_ip(request))))
