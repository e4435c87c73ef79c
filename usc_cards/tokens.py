"""Scan tokens: what verify-card hands out instead of anything the client could
forge. A django.core.signing payload (signed with SECRET_KEY, salted, 30 minutes) carrying
the card's HMAC, last 4 digits, barcode format and the scan attempt's id: never the raw ID."""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from usc_cards.errors import InvalidScanToken, ScanTokenExpired
from usc_cards.models import BarcodeFormat

SCAN_TOKEN_SALT = "rendezvous.usc_cards.scan_token"  # noqa: S105 - a signing salt, not a secret
SCAN_TOKEN_MAX_AGE = timedelta(minutes=30)
SCAN_TOKEN_MAX_CHARS = 512
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_LAST4 = re.compile(r"^[0-9]{4}$")


@dataclass(frozen=True)
class ScanClaim:
    """What a valid scan token proves: this card was scanned (attempt) in the last 30 minutes."""

    usc_id_hash: str
    last4: str
    barcode_format: str
    attempt_id: int


def issue_scan_token(*, usc_id_hash: str, last4: str, barcode_format: str, attempt_id: int) -> str:
    payload = {"v": 1, "h": usc_id_hash, "l": last4, "f": barcode_format, "a": attempt_id}
    return signing.dumps(payload, salt=SCAN_TOKEN_SALT, compress=False)


def read_scan_token(token) -> ScanClaim:
    """The claim of a token we signed less than 30 minutes ago; InvalidScanToken for anything
    forged, altered or malformed, ScanTokenExpired for an old one."""
    if not isinstance(token, str) or not token or len(token) > SCAN_TOKEN_MAX_CHARS:
        raise InvalidScanToken()
    try:
        data = signing.loads(token, salt=SCAN_TOKEN_SALT, max_age=SCAN_TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ScanTokenExpired() from exc
    except (signing.BadSignature, ValueError, TypeError, UnicodeError) as exc:
        raise InvalidScanToken() from exc
    if not (
        isinstance(data, dict)
        and data.get("v") == 1
        and isinstance(data.get("h"), str)
        and _DIGEST.match(data["h"])
        and isinstance(data.get("l"), str)
        and _LAST4.match(data["l"])
        and data.get("f") in BarcodeFormat.values
        and type(data.get("a")) is int
    ):
        raise InvalidScanToken()
    return ScanClaim(usc_id_hash=data["h"], last4=data["l"], barcode_format=data["f"], attempt_id=data["a"])
