"""Request and response shapes of the USC card API. A barcode is read by
usc_cards.barcode.parse_card (which never raises); nothing here stores it."""

from rest_framework import serializers

from accounts.api.serializers import MeOut
from config.serializers import StrictInput
from usc_cards.tokens import SCAN_TOKEN_MAX_CHARS

# Longer than any barcode (parse_card refuses > 50 characters and logs the attempt); longer
# still is refused here without a scan row.
BARCODE_MAX_CHARS = 1000


class BarcodeField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The scanned barcode: 10 or 14 digits (other characters are ignored).")
        super().__init__(max_length=BARCODE_MAX_CHARS, trim_whitespace=False, allow_blank=True, **kwargs)


class VerifyCardIn(StrictInput):
    barcode = BarcodeField()


class ScanOut(serializers.Serializer):
    scan_token = serializers.CharField(help_text="Send with sign-up or finalize-registration within 30 minutes.")
    last4 = serializers.CharField()
    barcode_format = serializers.CharField()
    expires_at = serializers.DateTimeField()


class FinalizeIn(StrictInput):
    scan_token = serializers.CharField(
        max_length=SCAN_TOKEN_MAX_CHARS,
        required=False,
        allow_blank=True,
        help_text="Only for an account that has no card yet; omit to finalize the card used at sign-up.",
    )


class RegistrationOut(serializers.Serializer):
    last4 = serializers.CharField()
    barcode_format = serializers.CharField()
    first_scanned_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    last_login_via_card_at = serializers.DateTimeField(allow_null=True)
    total_card_logins = serializers.IntegerField()


class CardStatusOut(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["none", "pending", "registered"],
        help_text="none: no card; pending: signed up with a card, registration not written yet; registered.",
    )
    registration = RegistrationOut(allow_null=True)


class CardLoginStartIn(StrictInput):
    barcode = BarcodeField()


class CardLoginStartOut(serializers.Serializer):
    detail = serializers.CharField()
    email_hint = serializers.CharField(help_text="Where the code went, e.g. a•••@usc.edu.")


class CardLoginCompleteIn(StrictInput):
    barcode = BarcodeField()
    code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the 6-digit code."})


class CardSessionOut(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once. Send as `Authorization: Bearer <token>`.")
    user = MeOut()
