"""Photos in text calls: the upload (POST /api/calls/<room>/photos) and the one way to fetch a
photo (GET /api/photos/<id>, permission-checked; there is no public URL)."""

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ERRORS
from accounts.permissions import HasAccess
from chat import services
from chat.errors import PhotoGone
from chat.selectors import get_photo_for_viewer
from config.api import throttle, validated


class PhotoIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, max_length=255)
    client_id = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="A retry with the same id stores the photo once"
    )


class PhotoOut(serializers.Serializer):
    photo = serializers.UUIDField(source="pk")
    message_id = serializers.IntegerField()
    room = serializers.UUIDField(source="room_id")
    client_id = serializers.CharField(source="message.client_id", allow_null=True)
    url = serializers.CharField(help_text="GET it with your token (only the two of you and moderators may)")
    status = serializers.CharField(help_text='"pending" until screening passed it ("passed") or hid it ("hidden")')
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    sent_at = serializers.DateTimeField(source="created_at")


PHOTO_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(description="not_a_member: not your call (or banned, no access)"),
    409: OpenApiResponse(description="not_a_text_call: photos go in text calls only"),
    410: OpenApiResponse(description="room_ended: the call is over"),
    413: OpenApiResponse(description="photo_too_large (over 5 MB) or too_large (the body)"),
}


class CallPhotosView(APIView):
    permission_classes = [HasAccess]
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [throttle("call_photos", per="user")]

    @extend_schema(
        request={"multipart/form-data": PhotoIn},
        responses={201: PhotoOut, 200: PhotoOut, **PHOTO_ERRORS},
        summary="Send a photo in my text call (delivered once screening passes it)",
    )
    def post(self, request, room_id):
        data = validated(PhotoIn, request)
        sent = services.send_photo(request.user, room_id=room_id, upload=data["file"],
                                   client_id=data.get("client_id", ""))  # fmt: skip
        return Response(PhotoOut(sent.photo).data, status=201 if sent.created else 200)


class PhotoView(APIView):
    @extend_schema(
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **ERRORS, 404: OpenApiResponse(), 410: OpenApiResponse()},
        summary="A photo sent in a text call (its sender, its receiver once screened, moderators)",
    )
    def get(self, request, photo_id):
        photo = get_photo_for_viewer(request.user, photo_id)
        try:
            handle = default_storage.open(photo.file, "rb")
        except FileNotFoundError:
            raise PhotoGone() from None
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Content-Disposition"] = "inline"
        return response
