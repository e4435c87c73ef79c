"""The one schema of a person's card (`chat.events.user_card`), for every response that shows one."""

from rest_framework import serializers


class UserCard(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    gender = serializers.CharField()
    selfie_url = serializers.CharField(allow_null=True)
    video_url = serializers.CharField(allow_null=True)
