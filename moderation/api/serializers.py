from rest_framework import serializers

from config.serializers import StrictInput
from moderation.models import Report


class ReportIn(StrictInput):
    reported_user_id = serializers.UUIDField()
    category = serializers.ChoiceField(choices=Report.Category.choices)
    text = serializers.CharField(max_length=Report.MAX_TEXT, allow_blank=True, required=False, default="")
    room_id = serializers.UUIDField(required=False, allow_null=True, default=None)

    def validate_text(self, value):
        if "\x00" in value:
            raise serializers.ValidationError("Text may not contain NUL characters.")
        return value.strip()


class ReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    reported_user_id = serializers.UUIDField(source="reported_id")
    category = serializers.CharField()
    text = serializers.CharField()
    room_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
