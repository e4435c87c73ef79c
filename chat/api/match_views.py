"""After a call: "I'd meet again" answers and the Matches list (chat/services/matches.py)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from accounts.validation import SOCIAL_HANDLES
from chat import services
from chat.api.cards import UserCard
from chat.selectors import list_matches, match_view
from config.api import validated
from config.serializers import StrictInput

# The networks a match may be shown (one enum in the schema: SPECTACULAR_SETTINGS ENUM_NAME_OVERRIDES).
SOCIAL_NETWORKS = sorted(SOCIAL_HANDLES)
NOT_YOURS = OpenApiResponse(description="`not_found`: no such call (or match) of yours")


class MeetAgainIn(StrictInput):
    answer = serializers.ChoiceField(choices=["yes", "no"])


class MatchFields(serializers.Serializer):
    id = serializers.UUIDField()
    room = serializers.UUIDField(allow_null=True, help_text="The call the match came from")
    created_at = serializers.DateTimeField()
    partner = UserCard()
    partner_socials = serializers.DictField(
        child=serializers.CharField(), help_text="The handles my match chose to share with me: {network: handle}"
    )
    shared_networks = serializers.ListField(
        child=serializers.ChoiceField(choices=SOCIAL_NETWORKS), help_text="The networks I share with my match"
    )


class MatchOut(MatchFields):
    """A Match row, as the requesting side sees it (chat.selectors.match_view)."""

    def to_representation(self, instance):
        return super().to_representation(match_view(instance, for_user=self.context["request"].user))


class MeetAgainOut(serializers.Serializer):
    room = serializers.UUIDField()
    answer = serializers.ChoiceField(choices=["yes", "no"], allow_null=True, help_text="My answer (never the other's)")
    answered_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True, help_text="24 h after the call ended; null while it runs")
    match = MatchFields(allow_null=True, help_text="Set once both said yes")


def _meet_again(request, state) -> dict:
    return {
        "room": str(state.room.pk),
        "answer": None if state.answer is None else ("yes" if state.answer else "no"),
        "answered_at": state.answered_at,
        "closes_at": state.closes_at,
        "match": match_view(state.match, for_user=request.user) if state.match else None,
    }


class MeetAgainView(APIView):
    @extend_schema(responses={200: MeetAgainOut, 404: NOT_YOURS, **ERRORS}, summary="My answer about a call")
    def get(self, request, room_id):
        state = services.meet_again_state(request.user, room_id=room_id)
        return Response(MeetAgainOut(_meet_again(request, state)).data)

    @extend_schema(
        request=MeetAgainIn,
        responses={
            200: MeetAgainOut,
            404: NOT_YOURS,
            409: OpenApiResponse(description="`room_not_ended`; `already_matched` (a no while matched: unmatch)"),
            410: OpenApiResponse(description="`meet_again_closed`: more than 24 h after the call ended"),
            **ERRORS,
        },
        summary="I'd meet again: yes or no (changeable until matched)",
    )
    def put(self, request, room_id):
        data = validated(MeetAgainIn, request)
        state = services.answer_meet_again(request.user, room_id=room_id, answer=data["answer"] == "yes")
        return Response(MeetAgainOut(_meet_again(request, state)).data)


@extend_schema(summary="My matches, newest first")
class MatchListView(ListAPIView):
    serializer_class = MatchOut

    def get_queryset(self):
        return list_matches(self.request.user)


class ShareIn(StrictInput):
    networks = serializers.ListField(
        child=serializers.ChoiceField(choices=SOCIAL_NETWORKS), max_length=len(SOCIAL_HANDLES)
    )


class MatchView(APIView):
    @extend_schema(responses={204: None, 404: NOT_YOURS, **ERRORS}, summary="Unmatch (the other is not told)")
    def delete(self, request, match_id):
        services.unmatch(request.user, match_id=match_id)
        return Response(status=204)


class MatchSocialsView(APIView):
    @extend_schema(
        request=ShareIn, responses={200: MatchOut, 404: NOT_YOURS, **ERRORS}, summary="Which socials my match sees"
    )
    def put(self, request, match_id):
        data = validated(ShareIn, request)
        match = services.share_socials_with_match(request.user, match_id=match_id, networks=data["networks"])
        return Response(MatchOut(match, context={"request": request}).data)
