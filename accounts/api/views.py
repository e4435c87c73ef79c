"""Accounts endpoints: parse, call one service or selector, render (STYLE.md)."""

import io

import qrcode
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.permissions import IsSignedIn
from accounts.services import credentials, profile, sessions, signup
from config.api import throttle, validated
from config.client_ip import request_ip, user_agent
from config.errors import NotFound
from moderation.selectors import get_ban_summary

ERRORS = {
    400: OpenApiResponse(description="Invalid input: {error: {code, message, fields}}"),
    401: OpenApiResponse(description="Not authenticated"),
    403: OpenApiResponse(description="Banned, IP banned, or no access"),
    429: OpenApiResponse(description="Rate limited (Retry-After header)"),
}


def _me(user) -> dict:
    return s.MeOut(user).data


class SignUpView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("signup")]

    @extend_schema(request=s.SignUpIn, responses={201: s.SessionOut, **ERRORS}, summary="Guest sign-up")
    def post(self, request):
        data = validated(s.SignUpIn, request)
        result = signup.sign_up_guest(
            name=data["name"],
            gender=data["gender"],
            invite_code=data.get("invite_code") or None,
            referral_code=data.get("referral_code") or None,
            usc_scan_token=data.get("usc_scan_token") or None,
            ip=request_ip(request),
            user_agent=user_agent(request),
        )
        return Response({"token": result.token, "user": _me(result.user)}, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("login")]

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


class EmailStartView(APIView):
    throttle_classes = [throttle("email_send", per="user")]

    @extend_schema(request=s.EmailIn, responses={202: s.MessageOut, **ERRORS}, summary="Send an email code")
    def post(self, request):
        data = validated(s.EmailIn, request)
        credentials.request_email_verification(request.user, data["email"])
        return Response({"detail": "A code was sent to that address."}, status=status.HTTP_202_ACCEPTED)


class EmailVerifyView(APIView):
    throttle_classes = [throttle("email_verify", per="user")]

    @extend_schema(request=s.CodeIn, responses={200: s.MeOut, **ERRORS}, summary="Verify the email code")
    def post(self, request):
        data = validated(s.CodeIn, request)
        return Response(_me(credentials.verify_email(request.user, data["code"].strip())))


class MakePermanentView(APIView):
    @extend_schema(request=s.PasswordIn, responses={200: s.MeOut, **ERRORS}, summary="Guest → permanent")
    def post(self, request):
        data = validated(s.PasswordIn, request)
        user = credentials.make_permanent(
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
        return Response(_me(credentials.skip_permanent(request.user, ip=request_ip(request))))


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


class MyBanView(APIView):
    permission_classes = [IsSignedIn]  # a banned user may read this

    @extend_schema(responses={200: s.BanOut, 401: ERRORS[401]}, summary="My ban status")
    def get(self, request):
        return Response(s.BanOut(get_ban_summary(request.user)).data)


def _my_invite_code(user):
    from referrals.selectors import get_user_invite_code

    code = get_user_invite_code(user)
    if code is None:
        raise NotFound("You get an invite code once verified or after 4 successful calls.")
    return code


def _signup_url(code: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/?invite={code}"


class MyInviteCodeView(APIView):
    @extend_schema(responses={200: s.InviteCodeOut, 404: OpenApiResponse(description="Not unlocked yet")})
    def get(self, request):
        code = _my_invite_code(request.user)
        return Response(
            {
                "code": code.code,
                "type": code.type,
                "max_uses": code.max_uses,
                "uses_remaining": code.uses_remaining,
                "signup_url": _signup_url(code.code),
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
        image = qrcode.make(_signup_url(code.code), box_size=8, border=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        response = HttpResponse(buffer.getvalue(), content_type="image/png")
        response["Cache-Control"] = "private, max-age=300"
        return response


class RedeemInviteCodeView(APIView):
    throttle_classes = [throttle("code_check")]

    @extend_schema(request=s.InviteCodeIn, responses={200: s.MeOut, **ERRORS}, summary="Use an invite code")
    def post(self, request):
        data = validated(s.InviteCodeIn, request)
        return Response(_me(signup.redeem_invite_code(request.user, data["code"], ip=request_ip(request))))
