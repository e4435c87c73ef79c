"""Accounts endpoints: parse, call one service or selector, render. Sign-up, the
email and permanent steps and redeeming a code are onboarding/api; my ban is moderation/api;
my invite code is referrals/api (each sits with the layer its rule needs)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.permissions import IsSignedIn
from accounts.services import credentials, profile, sessions
from config.api import throttle, validated
from config.client_ip import request_ip, user_agent

ERRORS = {
    400: OpenApiResponse(description="Invalid input: {error: {code, message, fields}}"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Banned, IP banned, or no access"),
    429: OpenApiResponse(description="Rate limited (Retry-After header)"),
}


def _me(user) -> dict:
    return s.MeOut(user).data


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]  # per address and per account budgets: login_throttle, in the service

    @extend_schema(request=s.LoginIn, responses={200: s.SessionOut, **ERRORS}, summary="Log in with email")
    def post(self, request):
        data = validated(s.LoginIn, request)
        user, token = credentials.log_in(
            email=data["email"], password=data["password"], ip=request_ip(request), user_agent=user_agent(request)
        )
        return Response({"token": token, "user": _me(user)})


class LogoutView(APIView):
    permission_classes = [IsSignedIn]

    @extend_schema(request=None, responses={204: None, 401: ERRORS[401]}, summary="End this session")
    def post(self, request):
        sessions.log_out(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutEverywhereView(APIView):
    permission_classes = [IsSignedIn]

    @extend_schema(request=None, responses={204: None, 401: ERRORS[401]}, summary="End every session")
    def post(self, request):
        sessions.log_out_everywhere(request.user, ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ForgotPasswordView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("password_forgot")]

    @extend_schema(request=s.EmailIn, responses={202: s.MessageOut, **ERRORS}, summary="Email a reset code")
    def post(self, request):
        data = validated(s.EmailIn, request)
        credentials.request_password_reset(data["email"], ip=request_ip(request))
        detail = "If an account uses this address, a code is on its way."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class ResetPasswordView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("code_check")]

    @extend_schema(request=s.ResetPasswordIn, responses={200: s.MessageOut, **ERRORS}, summary="Reset password")
    def post(self, request):
        data = validated(s.ResetPasswordIn, request)
        credentials.reset_password(
            email=data["email"], code=data["code"], new_password=data["new_password"], ip=request_ip(request)
        )
        return Response({"detail": "Password changed. Every session was signed out; log in again."})


class MeView(APIView):
    @extend_schema(responses={200: s.MeOut, **ERRORS}, summary="My profile")
    def get(self, request):
        return Response(_me(request.user))

    @extend_schema(request=s.MeUpdateIn, responses={200: s.MeOut, **ERRORS}, summary="Edit my profile")
    def patch(self, request):
        data = validated(s.MeUpdateIn, request)
        return Response(_me(profile.update_profile(request.user, **data)))

    @extend_schema(responses={204: None, **ERRORS}, summary="Delete my account and personal data")
    def delete(self, request):
        profile.delete_account(request.user, ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _MediaView(APIView):
    field = ""
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [throttle("upload", per="user")]

    def put(self, request):
        data = validated(s.FileIn, request)
        setter = profile.set_selfie if self.field == "selfie" else profile.set_video
        return Response(_me(setter(request.user, data["file"])))

    def delete(self, request):
        return Response(_me(profile.remove_media(request.user, self.field)))


@extend_schema(request={"multipart/form-data": s.FileIn}, responses={200: s.MeOut, **ERRORS})
class SelfieView(_MediaView):
    """Selfie: any image Pillow reads, ≤ 5 MB; stored re-encoded (JPEG ≤ 800×800, no EXIF)."""

    field = "selfie"


@extend_schema(request={"multipart/form-data": s.FileIn}, responses={200: s.MeOut, **ERRORS})
class VideoView(_MediaView):
    """Intro video: MP4 or WebM, 5–60 s, ≤ 50 MB."""

    field = "video"
