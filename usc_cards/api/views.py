"""USC card endpoints: parse, call one service or selector, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeOut
from config.api import throttle, validated
from config.client_ip import request_ip, user_agent
from usc_cards import selectors, services
from usc_cards.api import serializers as s

ERRORS = {
    400: OpenApiResponse(description="Invalid input, card or scan token: {error: {code, message, fields}}"),
    403: OpenApiResponse(description="Banned (with ban_status) or IP banned"),
    409: OpenApiResponse(description="Card registered / bound to another account"),
    429: OpenApiResponse(description="Rate limited (Retry-After header)"),
}

# Both card-login steps refuse the same way (usc_cards.services._card_login_account).
CARD_LOGIN_ERRORS = {
    **ERRORS,
    404: OpenApiResponse(description="No account has this card"),
    409: OpenApiResponse(description="The account has no verified email"),
    410: OpenApiResponse(description="The guest account has expired"),
}


def _registration(registration) -> dict | None:
    return s.RegistrationOut(registration).data if registration else None


class VerifyCardView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=s.VerifyCardIn, responses={200: s.ScanOut, **ERRORS}, summary="Scan a USC card")
    def post(self, request):
        data = validated(s.VerifyCardIn, request)
        result = services.verify_card(data["barcode"], ip=request_ip(request), user_agent=user_agent(request))
        return Response(s.ScanOut(result).data)


class FinalizeRegistrationView(APIView):
    @extend_schema(
        request=s.FinalizeIn,
        responses={200: s.RegistrationOut, **ERRORS, 401: OpenApiResponse(description="Not authenticated")},
        summary="Write my USC card registration (idempotent)",
    )
    def post(self, request):
        data = validated(s.FinalizeIn, request)
        registration = services.finalize_registration_request(
            request.user, scan_token=data.get("scan_token") or None, ip=request_ip(request)
        )
        return Response(_registration(registration))


class MyCardView(APIView):
    @extend_schema(responses={200: s.CardStatusOut}, summary="My USC card")
    def get(self, request):
        registration = selectors.get_registration(request.user)
        state = "registered" if registration else ("pending" if request.user.usc_id_hash else "none")
        return Response({"status": state, "registration": _registration(registration)})


class CardLoginStartView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("login")]

    @extend_schema(
        request=s.CardLoginStartIn,
        responses={202: s.CardLoginStartOut, **CARD_LOGIN_ERRORS},
        summary="Card login, step 1: email a code",
    )
    def post(self, request):
        data = validated(s.CardLoginStartIn, request)
        result = services.start_card_login(data["barcode"], ip=request_ip(request), user_agent=user_agent(request))
        detail = "A 6-digit code was sent to the account's email. Scan the card again with the code."
        return Response({"detail": detail, "email_hint": result.email_hint}, status=status.HTTP_202_ACCEPTED)


class CardLoginCompleteView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttle("code_check")]

    @extend_schema(
        request=s.CardLoginCompleteIn,
        responses={200: s.CardSessionOut, **CARD_LOGIN_ERRORS},
        summary="Card login, step 2: scan + code → session",
    )
    def post(self, request):
        data = validated(s.CardLoginCompleteIn, request)
        user, token = services.complete_card_login(
            data["barcode"], data["code"].strip(), ip=request_ip(request), user_agent=user_agent(request)
        )
        return Response({"token": token, "user": MeOut(user).data})
