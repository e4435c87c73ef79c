"""Blocks: POST /api/blocks, DELETE /api/blocks/<user_id>, GET /api/blocks (mine)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from chat.selectors import list_blocks
from chat.services.blocks import block_user, unblock_user
from config.api import throttle, validated
from config.client_ip import request_ip
from config.serializers import StrictInput


class BlockIn(StrictInput):
    user_id = serializers.UUIDField()


class BlockedPerson(serializers.Serializer):
    """Whom a block is of: the id and the name as it was when the block was made, no photo or
    video, so a block (blocking back included) tells nothing newer about the other person."""

    id = serializers.UUIDField(source="blocked_id")
    name = serializers.CharField(source="blocked_name")


class BlockOut(serializers.Serializer):
    user = BlockedPerson(source="*")
    created_at = serializers.DateTimeField()


# Blocking and unblocking share one per-user budget (settings.RATE_LIMITS["block"]): each toggle
# writes an audit line and pushes to the other person, and nobody needs many in an hour.
BlockThrottle = throttle("block", per="user")


class BlocksView(ListAPIView):
    serializer_class = BlockOut

    def get_throttles(self):
        return [BlockThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        return list_blocks(self.request.user)

    @extend_schema(summary="People I blocked, newest first (cursor-paginated)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=BlockIn,
        responses={
            201: BlockOut,
            200: OpenApiResponse(BlockOut, description="Already blocked (a retry): the same block"),
            **ERRORS,
            404: OpenApiResponse(description="No such user"),
            409: OpenApiResponse(description="too_many_blocks (at most 1000)"),
            429: OpenApiResponse(description="rate_limited: too many blocks and unblocks this hour"),
        },
        summary="Block someone (they are not told)",
    )
    def post(self, request):
        data = validated(BlockIn, request)
        result = block_user(request.user, data["user_id"], ip=request_ip(request))
        block = result.block
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(BlockOut(block).data, status=code)


class BlockDetailView(APIView):
    throttle_classes = [BlockThrottle]

    @extend_schema(responses={204: None, **ERRORS}, summary="Unblock someone (idempotent)")
    def delete(self, request, user_id):
        unblock_user(request.user, user_id, ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
