from rest_framework import serializers

from config.serializers import StrictInput
from referrals.models import ReferralNotification


class ValidateCodeIn(StrictInput):
    code = serializers.CharField(min_length=1, max_length=64)


class ValidateCodeOut(serializers.Serializer):
    valid = serializers.BooleanField()
    type = serializers.CharField()


class ReferralIn(StrictInput):
    target_user_id = serializers.UUIDField()


class ReferralOut(serializers.Serializer):
    """No name: the maker knows whom they chose, and an id must not be a way to look names up."""

    referral_code = serializers.CharField()
    target_user_id = serializers.UUIDField()
    signup_url = serializers.CharField()


class NotificationOut(serializers.ModelSerializer):
    class Meta:
        model = ReferralNotification
        fields = (
            "id",
            "referred_user_id",
            "referred_name",
            "introduced_by_id",
            "introduced_by_name",
            "read",
            "created_at",
        )
        read_only_fields = fields


class MarkReadIn(StrictInput):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=500)


class MarkReadOut(serializers.Serializer):
    updated = serializers.IntegerField()
