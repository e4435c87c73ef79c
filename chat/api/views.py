"""Reel, location and WebRTC ICE servers."""

import base64
import hashlib
import hmac
import time

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from accounts.permissions import HasAccess
from accounts.services.location import set_location, withdraw_location
from chat.api.cards import UserCard
from chat.errors import NoOneWithCode
from chat.reel import MAX_PAGE, NEAR_RADII_KM, get_callable_card, list_reel
from chat.selectors import list_chat_history
from config.api import throttle, validated
from config.serializers import VISIBLE_TEXT, StrictInput, StrictQuery
from referrals.selectors import get_code_holder_id


@extend_schema_field({"type": "number", "enum": list(NEAR_RADII_KM)})
class NearField(serializers.FloatField):
    """A radius in km: the schema offers only the distance buckets; list_reel refuses the rest."""


class ReelQuery(StrictQuery):
    mode = serializers.ChoiceField(choices=["video", "text"], required=False)
    # chat.reel.list_reel refuses any other radius (400 invalid, with "allowed").
    near = NearField(
        required=False, help_text=f"Radius in km, one of {', '.join(map(str, NEAR_RADII_KM))} (the distance buckets)"
    )
    cursor = serializers.CharField(required=False, max_length=300)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=20)


class ReelCard(UserCard):
    introduced = serializers.BooleanField()
    distance = serializers.CharField(required=False, help_text="A bucket such as '1–5 km' (with ?near=)")


class ReelOut(serializers.Serializer):
    results = ReelCard(many=True)
    next = serializers.CharField(allow_null=True, help_text="Cursor for the next page")


class ReelView(APIView):
    permission_classes = [HasAccess]

    @extend_schema(
        parameters=[ReelQuery],
        responses={200: ReelOut, **ERRORS},
        summary="Who is online and available for me",
    )
    def get(self, request):
        query = ReelQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        page = list_reel(
            request.user,
            mode=data.get("mode"),
            near_km=data.get("near"),
            cursor=data.get("cursor"),
            size=data["page_size"],
        )
        return Response({"results": page.results, "next": page.next_cursor})


class CallByCodeIn(StrictInput):
    code = serializers.RegexField(
        VISIBLE_TEXT,
        max_length=64,
        help_text="A friend's invite code or introduction code; case, spaces and dashes do not matter",
        error_messages={"invalid": "Enter your friend's code."},
    )
    mode = serializers.ChoiceField(choices=["video", "text"], required=False)


class CallByCodeView(APIView):
    """A friend's code: their reel card if I could call them now (then the `call.invite` frame
    with their id, which checks every rule again), else one 404 whatever the reason."""

    permission_classes = [HasAccess]
    throttle_classes = [throttle("call_by_code", per="user"), throttle("call_by_code_ip")]

    @extend_schema(
        request=CallByCodeIn,
        responses={
            200: ReelCard,
            404: OpenApiResponse(description="no_one_with_code: no one I can call right now has that code"),
            **ERRORS,
        },
        summary="Find someone I can call by their code",
        description="404 `no_one_with_code` for an unknown code, my own, and anyone not in my reel right now alike.",
    )
    def post(self, request):
        data = validated(CallByCodeIn, request)
        card = get_callable_card(request.user, get_code_holder_id(data["code"]), mode=data.get("mode"))
        if card is None:
            raise NoOneWithCode()
        return Response(ReelCard(card).data)


class LocationIn(StrictInput):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(min_value=0, max_value=50_000)


class LocationOut(serializers.Serializer):
    latitude = serializers.DecimalField(max_digits=6, decimal_places=3)
    longitude = serializers.DecimalField(max_digits=6, decimal_places=3)
    accuracy_m = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class LocationView(APIView):
    @extend_schema(request=LocationIn, responses={200: LocationOut, **ERRORS}, summary="Share my location")
    def put(self, request):
        data = LocationIn(data=request.data)
        data.is_valid(raise_exception=True)
        location = set_location(request.user, **data.validated_data)
        return Response(LocationOut(location).data)

    @extend_schema(responses={204: None, **ERRORS}, summary="Withdraw location consent")
    def delete(self, request):
        withdraw_location(request.user)
        return Response(status=204)


class IceServersOut(serializers.Serializer):
    ice_servers = serializers.ListField(child=serializers.DictField())
    ttl = serializers.IntegerField()


def turn_credentials(user_id, *, now: float | None = None) -> tuple[str, str]:
    """coturn's shared-secret scheme: username = "<expiry>:<user id>", password =
    base64(HMAC-SHA1(secret, username))."""
    expiry = int((now or time.time()) + settings.TURN_CREDENTIAL_TTL)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class IceServersView(APIView):
    permission_classes = [HasAccess]
    throttle_classes = [throttle("ice_servers", per="user")]

    @extend_schema(responses={200: IceServersOut, **ERRORS}, summary="STUN/TURN servers for WebRTC")
    def get(self, request):
        servers = []
        if settings.STUN_URLS:
            servers.append({"urls": settings.STUN_URLS})
        if settings.TURN_URLS and settings.TURN_SECRET:
            username, credential = turn_credentials(request.user.pk)
            servers.append({"urls": settings.TURN_URLS, "username": username, "credential": credential})
        return Response({"ice_servers": servers, "ttl": settings.TURN_CREDENTIAL_TTL})


class HistoryOut(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.UUIDField(source="room_id", allow_null=True)
    partner = serializers.UUIDField(source="partner_id", allow_null=True)
    partner_name = serializers.CharField()
    chat_mode = serializers.CharField()
    started_at = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField()
    messages = serializers.ListField(
        child=serializers.DictField(),
        help_text="Snapshot at the end of the call: [{id, sender, kind, text, url, sent_at}], oldest first",
    )


@extend_schema(summary="My finished calls, newest first (with the message snapshot)")
class HistoryView(ListAPIView):
    serializer_class = HistoryOut

    def get_queryset(self):
        return list_chat_history(self.request.user)
