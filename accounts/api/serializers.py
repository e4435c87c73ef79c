"""Request and response shapes of the accounts API (validation of input lives here and in
accounts.validation; the rules themselves are enforced again by services and the DB)."""

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import MEET_MODES, User
from accounts.preferences import MEET_GENDER_CHOICES, check_meet_genders, clean_meet_modes, meet_genders_words
from accounts.selectors import ban_status_now
from accounts.validation import (
    INSTAGRAM_POST_URL,
    NAME_MAX,
    SOCIAL_HANDLES,
    NameNotAllowed,
    clean_instagram_posts,
    clean_name,
    clean_socials,
)
from config.errors import InvalidInput
from config.serializers import VISIBLE_TEXT, StrictInput


class _ServiceValidated(serializers.Field):
    """Run a validation.clean_* function and turn its InvalidInput into a field error."""

    cleaner = None

    def to_internal_value(self, data):
        try:
            return type(self).cleaner(data)
        except InvalidInput as exc:
            detail = next(iter(exc.fields.values()), exc.message) if exc.fields else exc.message
            raise serializers.ValidationError(detail) from exc

    def to_representation(self, value):
        return value


def _handle_schema(pattern) -> dict:
    """A handle as the server takes it: optional surrounding spaces and a leading @; "" or null removes."""
    body = pattern.pattern.removeprefix("^").removesuffix("$")
    return {"type": "string", "nullable": True, "pattern": rf"^(\s*@?{body}\s*)?$"}


@extend_schema_field(
    {
        "type": "object",
        "properties": {network: _handle_schema(pattern) for network, pattern in sorted(SOCIAL_HANDLES.items())},
        "additionalProperties": False,
        "description": "Handle by network: " + ", ".join(sorted(SOCIAL_HANDLES)) + " (empty string removes).",
    }
)
class SocialsField(_ServiceValidated):
    cleaner = staticmethod(clean_socials)


@extend_schema_field(
    {
        "type": "array",
        "maxItems": 10,
        "items": {"type": "string", "pattern": INSTAGRAM_POST_URL.pattern.replace("^", r"^\s*").replace("$", r"\s*$")},
        "description": "Instagram post/reel URLs (https://www.instagram.com/p/… or /reel/…).",
    }
)
class InstagramPostsField(_ServiceValidated):
    cleaner = staticmethod(clean_instagram_posts)


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": len(MEET_GENDER_CHOICES),
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(MEET_GENDER_CHOICES)},
        "description": "Who I want to meet: any of women, men, nonbinary, or everyone (also people who did not "
        "say their gender). Applied mutually in the reel and to invites. Default everyone.",
    }
)
class MeetGendersField(_ServiceValidated):
    cleaner = staticmethod(check_meet_genders)


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": len(MEET_MODES),
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(MEET_MODES)},
        "description": "Call modes I want (text, video; at least one), applied mutually. Default both.",
    }
)
class MeetModesField(_ServiceValidated):
    cleaner = staticmethod(clean_meet_modes)


@extend_schema_field(
    {
        "type": "string",
        "maxLength": NAME_MAX,  # the server reads up to 200 and collapses runs of spaces first
        "pattern": r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$",
        "description": "1 to 60 visible characters once spaces are collapsed",
    }
)
class NameField(serializers.CharField):
    """A first name; every refusal says so in the same sentences, on sign-up and in settings."""

    default_error_messages = {"blank": "Enter your first name.", "required": "Enter your first name."}

    def __init__(self, **kwargs):
        super().__init__(max_length=200, trim_whitespace=True, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return clean_name(value)
        except NameNotAllowed:
            raise  # the right shape, refused by a content rule: 400 name_not_allowed naming `name`
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.fields["name"][0]) from exc


@extend_schema_field({"type": "boolean", "enum": [True], "description": "Must be true: the terms are accepted."})
class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only: "true", 1 and "yes" do not count as accepting the terms."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SignUpIn(StrictInput):
    name = NameField()
    gender = serializers.ChoiceField(choices=User.Gender.choices)
    terms_accepted = StrictBooleanField()
    invite_code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    referral_code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    usc_scan_token = serializers.CharField(
        max_length=512,
        required=False,
        allow_blank=True,
        help_text="From POST /api/usc/verify-card (30 minutes): sign up with a USC card (access qr_verified).",
    )

    def validate_terms_accepted(self, value):
        if value is not True:
            raise serializers.ValidationError("You must accept the terms.")
        return value


class LoginIn(StrictInput):
    email = serializers.RegexField(VISIBLE_TEXT, max_length=254, error_messages={"invalid": "Enter your email."})
    password = serializers.CharField(min_length=1, max_length=256, trim_whitespace=False)


class EmailIn(StrictInput):
    email = serializers.EmailField(max_length=254)


class CodeIn(StrictInput):
    code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the 6-digit code."})


# What Django's password validators (settings.AUTH_PASSWORD_VALIDATORS) refuse that a schema
# can state: fewer than 10 characters, only digits. (Common passwords and ones like the
# user's name or email are refused too: `invalid` with fields.)
NEW_PASSWORD = {"max_length": 256, "trim_whitespace": False}  # the length rule: validate_password


@extend_schema_field({"type": "string", "minLength": 10, "maxLength": 256, "pattern": r"^[^\x00]*[^\d\x00][^\x00]*$"})
class NewPasswordField(serializers.CharField):
    pass


class PasswordIn(StrictInput):
    password = NewPasswordField(**NEW_PASSWORD)


class ResetPasswordIn(StrictInput):
    email = serializers.RegexField(VISIBLE_TEXT, max_length=254, error_messages={"invalid": "Enter your email."})
    code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the 6-digit code."})
    new_password = NewPasswordField(**NEW_PASSWORD)


class InviteCodeIn(StrictInput):
    code = serializers.RegexField(VISIBLE_TEXT, max_length=64, error_messages={"invalid": "Enter your code."})


class MeUpdateIn(StrictInput):
    name = NameField(required=False)
    gender = serializers.ChoiceField(choices=User.Gender.choices, required=False)
    socials = SocialsField(required=False)
    instagram_posts = InstagramPostsField(required=False)
    location_consent = serializers.BooleanField(required=False)
    meet_genders = MeetGendersField(required=False)
    meet_modes = MeetModesField(required=False)
    discoverable_while_browsing = serializers.BooleanField(required=False)


class FileIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, max_length=255)


def media_url(field_file) -> str | None:
    return default_storage.url(field_file.name) if field_file else None


# The signed-in user's own profile. Declared field by field (the types a ModelSerializer would
# derive from User; a comment, not a docstring, which would become the schema's description): a
# ModelSerializer introspects the model on every instance, ~1 ms per response on sign-up, log-in
# and GET /api/me; declared fields are only copied.
class MeOut(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    gender = serializers.ChoiceField(choices=User.Gender.choices, read_only=True)
    account_type = serializers.ChoiceField(choices=User.AccountType.choices, read_only=True)
    email = serializers.EmailField(allow_null=True, read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    has_password = serializers.SerializerMethodField()
    selfie_url = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField()
    socials = serializers.JSONField(read_only=True)
    instagram_posts = serializers.JSONField(read_only=True)
    timer_total_seconds = serializers.BigIntegerField(read_only=True)
    session_count = serializers.IntegerField(read_only=True)
    successful_sessions = serializers.IntegerField(read_only=True)
    streak_days = serializers.IntegerField(read_only=True)
    access_status = serializers.ChoiceField(choices=User.AccessStatus.choices, read_only=True)
    access_granted_at = serializers.DateTimeField(allow_null=True, read_only=True)
    qr_unlocked = serializers.BooleanField(read_only=True)
    qr_unlocked_at = serializers.DateTimeField(allow_null=True, read_only=True)
    ban_status = serializers.SerializerMethodField(help_text="A suspension whose end passed reads as none.")
    location_consent = serializers.BooleanField(read_only=True)
    meet_genders = serializers.SerializerMethodField()
    meet_modes = serializers.ListField(child=serializers.ChoiceField(choices=MEET_MODES), read_only=True)
    discoverable_while_browsing = serializers.BooleanField(read_only=True)
    account_expires_at = serializers.DateTimeField(allow_null=True, read_only=True)
    usc_verified_at = serializers.DateTimeField(allow_null=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_selfie_url(self, user) -> str | None:
        return media_url(user.selfie)

    def get_video_url(self, user) -> str | None:
        return media_url(user.video)

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()

    @extend_schema_field(serializers.ChoiceField(choices=User.BanStatus.choices))
    def get_ban_status(self, user) -> str:
        return ban_status_now(user)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=MEET_GENDER_CHOICES)))
    def get_meet_genders(self, user) -> list[str]:
        return meet_genders_words(user.meet_genders)


class SessionOut(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once. Send as `Authorization: Bearer <token>`.")
    user = MeOut()


class BanOut(serializers.Serializer):
    ban_status = serializers.CharField()
    review_status = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    banned_at = serializers.DateTimeField(allow_null=True)


class InviteCodeOut(serializers.Serializer):
    code = serializers.CharField()
    type = serializers.CharField()
    max_uses = serializers.IntegerField(allow_null=True)
    uses_remaining = serializers.IntegerField(allow_null=True)
    signup_url = serializers.CharField()


class MessageOut(serializers.Serializer):
    detail = serializers.CharField()
