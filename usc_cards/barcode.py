"""USC card barcodes: a pure parser, and the HMAC that is all we ever store of an ID.

parse_card never raises and never logs: its input is a student's card number. Only the
HMAC-SHA256 digest (card_hash) and the last 4 digits leave this module towards the database."""

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from itertools import pairwise

from django.conf import settings

from usc_cards.models import BarcodeFormat

RAW_MIN_CHARS = 10
RAW_MAX_CHARS = 50
ID_DIGITS = 10
BARCODE_DIGITS = 14
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


class CardError:
    """Validation error codes (stored in usc_scan_attempts.validation_errors: never digits)."""

    NOT_TEXT = "not_text"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    DIGIT_COUNT = "wrong_digit_count"
    LEADING_ZERO = "leading_zero"
    SAME_DIGITS = "all_same_digits"
    SEQUENTIAL = "sequential_digits"
    DENYLISTED = "test_id"


MESSAGES = {
    CardError.NOT_TEXT: "Scan the barcode on the back of your USC card.",
    CardError.TOO_SHORT: "That scan is too short to be a USC card barcode.",
    CardError.TOO_LONG: "That scan is too long to be a USC card barcode.",
    CardError.DIGIT_COUNT: "A USC card barcode has 10 or 14 digits.",
    CardError.LEADING_ZERO: "That is not a valid USC ID.",
    CardError.SAME_DIGITS: "That is not a valid USC ID.",
    CardError.SEQUENTIAL: "That is not a valid USC ID.",
    CardError.DENYLISTED: "That is not a valid USC ID.",
}


@dataclass(frozen=True)
class ParsedCard:
    """The outcome of reading one scan. `usc_id` is set whenever the digits have a card's
    shape (even if a rule then refuses them); it must never be stored or logged."""

    ok: bool
    usc_id: str | None = field(default=None, repr=False)
    last4: str = ""
    barcode_format: str = BarcodeFormat.UNKNOWN
    errors: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return MESSAGES.get(self.errors[0], "") if self.errors else ""


def _is_run(digits: str) -> bool:
    """1234567890-style: each digit is the previous one plus 1 (or each minus 1), modulo 10."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(digits)}
    return steps in ({1}, {9})


def _denylist() -> frozenset[str]:
    return frozenset(getattr(settings, "USC_TEST_ID_DENYLIST", ()) or ())


def parse_card(raw) -> ParsedCard:
    """Read a scanned barcode: strip every non-digit; 14 digits → the first 10 are the USC
    ID (the last 4 the card's issue number), 10 digits → the ID; anything else is invalid.
    The raw input must be 10–50 characters. An ID starting with 0, of one repeated digit, a
    1234567890-style run, or on the configured test-ID deny-list is invalid. Never raises."""
    if not isinstance(raw, str):
        return ParsedCard(ok=False, errors=(CardError.NOT_TEXT,))
    if len(raw) < RAW_MIN_CHARS:
        return ParsedCard(ok=False, errors=(CardError.TOO_SHORT,))
    if len(raw) > RAW_MAX_CHARS:
        return ParsedCard(ok=False, errors=(CardError.TOO_LONG,))
    digits = _NOT_ASCII_DIGIT.sub("", raw)
    if len(digits) == BARCODE_DIGITS:
        usc_id, barcode_format = digits[:ID_DIGITS], BarcodeFormat.DIGITS_14
    elif len(digits) == ID_DIGITS:
        usc_id, barcode_format = digits, BarcodeFormat.DIGITS_10
    else:
        return ParsedCard(ok=False, errors=(CardError.DIGIT_COUNT,))
    errors = []
    if usc_id[0] == "0":
        errors.append(CardError.LEADING_ZERO)
    if len(set(usc_id)) == 1:
        errors.append(CardError.SAME_DIGITS)
    elif _is_run(usc_id):
        errors.append(CardError.SEQUENTIAL)
    if usc_id in _denylist():
        errors.append(CardError.DENYLISTED)
    return ParsedCard(
        ok=not errors, usc_id=usc_id, last4=usc_id[-4:], barcode_format=barcode_format, errors=tuple(errors)
    )


def card_hash(usc_id: str) -> str:
    """HMAC-SHA256(ID, USC_ID_HMAC_SECRET) as hex: the only form of an ID we store."""
    return hmac.new(settings.USC_ID_HMAC_SECRET.encode(), usc_id.encode(), hashlib.sha256).hexdigest()
