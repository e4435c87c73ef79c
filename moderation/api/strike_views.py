"""A user's own strikes and appeals, and the outcomes of their reports:
GET /api/me/strikes, POST /api/me/strikes/<id>/appeal, GET /api/me/report-outcomes.
Signed-in users, banned ones included (the ban screen shows why and takes the appeal)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from accounts.permissions import IsSignedIn
from config.api import NewestFirstPagination, validated
from config.serializers import VISIBLE_TEXT, StrictInput
from moderation import appeals
from moderation.case_actions import OUTCOME_MESSAGES
from moderation.models import Appeal, Report, Strike


class AppealOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Appeal.Status.choices)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()


class StrikeOut(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=Strike.Action.choices)
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=Strike.Status.choices)
    automatic = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True, help_text="a suspension's end; null: permanent or pending")
    appeal_until = serializers.DateTimeField(source="appeal_deadline")
    appeal = serializers.SerializerMethodField()

    def get_appeal(self, strike) -> AppealOut(allow_null=True):  # type: ignore[valid-type]
        appeal = strike.appeal if hasattr(strike, "appeal") else None  # a missing one-to-one raises AttributeError
        return AppealOut(appeal).data if appeal else None


class AppealIn(StrictInput):
    # The pattern says in the schema too what the text must be: not only spaces (surrounding
    # spaces are trimmed) and no NUL character (PostgreSQL text cannot hold one).
    text = serializers.RegexField(
        VISIBLE_TEXT,
        max_length=Appeal.MAX_TEXT,
        error_messages={"invalid": "Write why you appeal, in words (no control characters)."},
    )

    def validate_text(self, value):
        return value.strip()


class ReportOutcomeOut(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    created_at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=Report.Outcome.choices)
    outcome_at = serializers.DateTimeField(allow_null=True)
    message = serializers.SerializerMethodField()

    def get_message(self, report) -> str:
        return OUTCOME_MESSAGES.get(report.outcome, "We have your report; a moderator will review it.")


class MyStrikesView(ListAPIView):
    """My strikes, newest first, each with its reason, end, appeal deadline and appeal."""

    permission_classes = [IsSignedIn]
    serializer_class = StrikeOut
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        return Strike.objects.filter(user=self.request.user).select_related("appeal")

    @extend_schema(summary="My strikes (warnings, suspensions, bans) and their appeals", responses={200: StrikeOut})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AppealView(APIView):
    permission_classes = [IsSignedIn]

    @extend_schema(
        request=AppealIn,
        responses={
            **ERRORS,
            201: AppealOut,
            400: OpenApiResponse(description="Text empty or over 2,000 characters"),
            404: OpenApiResponse(description="No such strike of yours"),
            409: OpenApiResponse(
                description="`already_appealed` (one appeal per strike), `appeal_window_closed` (20 days; "
                "`closed_at` gives the date), `not_appealable` (already overturned)"
            ),
        },
        summary="Appeal one of my strikes",
    )
    def post(self, request, strike_id):
        data = validated(AppealIn, request)
        appeal = appeals.file_appeal(request.user, strike_id, text=data["text"])
        return Response(AppealOut(appeal).data, status=status.HTTP_201_CREATED)


class MyReportOutcomesView(ListAPIView):
    """The reports I filed and what came of them (never the sanction's details)."""

    permission_classes = [IsSignedIn]
    serializer_class = ReportOutcomeOut
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        return Report.objects.filter(reporter=self.request.user)

    @extend_schema(summary="Outcomes of the reports I filed", responses={200: ReportOutcomeOut})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
