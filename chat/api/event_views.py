"""Event mode (status, RSVPs) and live stats: thin views over chat.event_mode, chat.event_rsvps and chat.live_stats."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from accounts.permissions import HasAccess
from chat import event_mode, event_rsvps, live_stats
from config.api import throttle, validated
from config.serializers import StrictInput


class WindowOut(serializers.Serializer):
    start = serializers.DateTimeField(help_text="UTC")
    end = serializers.DateTimeField(help_text="UTC")
    date = serializers.DateField(help_text="The local date in the event's time zone")


class EventStatusOut(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Event mode on: the app opens only inside the window")
    active = serializers.BooleanField(help_text="Event mode on and a window open now")
    open = serializers.BooleanField(help_text="Anyone may use the reel and start calls now")
    may_enter = serializers.BooleanField(
        allow_null=True, help_text="With a token: open, or this user has access outside events"
    )
    timezone = serializers.CharField(help_text="IANA zone of the window")
    window_start = serializers.CharField(help_text="HH:MM local")
    window_end = serializers.CharField(help_text="HH:MM local")
    weekdays = serializers.ListField(child=serializers.IntegerField(), help_text="0 = Monday; empty = every day")
    title = serializers.CharField()
    banner = serializers.CharField()
    now = serializers.DateTimeField(help_text="The server's clock (UTC)")
    today = WindowOut(allow_null=True)
    current = WindowOut(allow_null=True)
    next = WindowOut(allow_null=True, help_text="The next window starting after now")


class EventStatusView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: EventStatusOut, **ERRORS}, summary="Event mode: open now, today's and next window")
    def get(self, request):
        return Response(event_mode.event_status(request.user))


class RSVPIn(StrictInput):
    date = serializers.DateField(help_text="A local date of the event's time zone, today … 30 days ahead")
    preferred_time = serializers.TimeField(help_text="HH:MM inside the window")


class RSVPOut(serializers.Serializer):
    date = serializers.DateField()
    preferred_time = serializers.TimeField(format="%H:%M")
    updated_at = serializers.DateTimeField()


class RSVPView(APIView):
    permission_classes = [HasAccess]
    pagination_class = None

    def get_throttles(self):
        return [throttle("event_rsvp", per="user")()] if self.request.method == "POST" else []

    @extend_schema(request=RSVPIn, responses={200: RSVPOut, **ERRORS}, summary="RSVP for an event day (upsert)")
    def post(self, request):
        data = validated(RSVPIn, request)
        row = event_rsvps.rsvp(request.user, day=data["date"], preferred_time=data["preferred_time"])
        return Response(RSVPOut(row).data)

    @extend_schema(responses={200: RSVPOut(many=True), **ERRORS}, summary="My RSVPs from today on")
    def get(self, request):
        return Response(RSVPOut(event_rsvps.my_rsvps(request.user), many=True).data)


class LiveStatsView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "LiveStatsOut",
                {
                    "online_now": serializers.IntegerField(allow_null=True, help_text="null if presence is down"),
                    "in_calls_now": serializers.IntegerField(),
                    "calls_today": serializers.IntegerField(help_text="Since local midnight of the event zone"),
                    "timezone": serializers.CharField(),
                    "computed_at": serializers.DateTimeField(),
                },
            ),
        },
        summary="Live numbers (cached ≤ 5 s; no per-user data)",
    )
    def get(self, request):
        return Response(live_stats.live_stats())
