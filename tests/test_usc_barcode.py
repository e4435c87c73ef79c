"""USC card barcode parsing, a pure function: strip non-digits; 14 digits → the
first 10 are the ID, 10 digits → the ID, else invalid; raw input 10–50 characters; an ID
starting with 0, of one repeated digit, a 1234567890-style run or a deny-listed test ID is
invalid. It never raises, whatever the input."""

import re

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from usc_cards.barcode import CardError, card_hash, parse_card

VALID = [
    # raw scan, ID, last 4 (of the ID), format
    ("2718281828", "2718281828", "1828", "digits10"),
    ("27182818284590", "2718281828", "1828", "digits14"),
    ("2718-2818-28", "2718281828", "1828", "digits10"),
    (" 2718281828\n", "2718281828", "1828", "digits10"),
    (";27182818284590?", "2718281828", "1828", "digits14"),
    ("%B2718281828^STUDENT/TEST?", "2718281828", "1828", "digits10"),
    ("9000000001", "9000000001", "0001", "digits10"),
    ("1234567891", "1234567891", "7891", "digits10"),  # not quite a run
    ("1357913579", "1357913579", "3579", "digits10"),
]

INVALID = [
    # raw scan, the error it gives
    ("", CardError.TOO_SHORT),
    ("271828182", CardError.TOO_SHORT),  # 9 characters
    ("ABCDEFGHIJ", CardError.DIGIT_COUNT),
    ("27182818284", CardError.DIGIT_COUNT),  # 11 digits
    ("2718281828459", CardError.DIGIT_COUNT),  # 13 digits
    ("271828182845904", CardError.DIGIT_COUNT),  # 15 digits
    ("2" + "-" * 49 + "718281828", CardError.TOO_LONG),  # 10 digits in 59 characters
    ("x" * 51, CardError.TOO_LONG),
    ("0718281828", CardError.LEADING_ZERO),
    ("07182818284590", CardError.LEADING_ZERO),
    ("1111111111", CardError.SAME_DIGITS),
    ("99999999991234", CardError.SAME_DIGITS),  # the ID is the first 10 digits
    ("1234567890", CardError.SEQUENTIAL),
    ("2345678901", CardError.SEQUENTIAL),
    ("9876543210", CardError.SEQUENTIAL),
    ("12345678905555", CardError.SEQUENTIAL),
    ("２７１８２８１８２８", CardError.DIGIT_COUNT),  # full-width digits are not ASCII digits
]


@pytest.mark.parametrize(("raw", "usc_id", "last4", "barcode_format"), VALID)
def test_valid_scans_give_the_id_its_last_4_and_the_format(raw, usc_id, last4, barcode_format):
    card = parse_card(raw)

    assert card.ok, card.errors
    assert (card.usc_id, card.last4, card.barcode_format, card.errors) == (usc_id, last4, barcode_format, ())


@pytest.mark.parametrize(("raw", "error"), INVALID)
def test_invalid_scans_are_refused_with_the_reason(raw, error):
    card = parse_card(raw)

    assert not card.ok
    assert error in card.errors
    assert card.message


def test_an_id_shaped_but_refused_scan_still_says_which_id_it_read():
    card = parse_card("0718281828")

    assert not card.ok
    assert (card.usc_id, card.last4) == ("0718281828", "1828")


def test_non_text_input_is_invalid_not_an_exception():
    for value in (None, 2718281828, b"2718281828", ["2718281828"], {"barcode": "2718281828"}):
        assert parse_card(value).errors == (CardError.NOT_TEXT,)


def test_ids_on_the_configured_deny_list_are_invalid(settings):
    settings.USC_TEST_ID_DENYLIST = ["2718281828"]

    assert parse_card("2718281828").errors == (CardError.DENYLISTED,)
    assert parse_card("27182818289999").errors == (CardError.DENYLISTED,)
    assert parse_card("3141592653").ok


def test_the_raw_id_is_not_in_the_repr_of_a_parsed_card():
    assert "2718281828" not in repr(parse_card("27182818284590"))


def test_card_hash_is_an_hmac_of_the_id_with_the_configured_secret(settings):
    settings.USC_ID_HMAC_SECRET = "one secret"
    first = card_hash("2718281828")
    settings.USC_ID_HMAC_SECRET = "another secret"

    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert card_hash("2718281828") != first
    assert "2718281828" not in first


# --- properties ---------------------------------------------------------------------------------


def _expected_ok(raw: str) -> bool:
    """The parsing rules restated independently of the implementation."""
    if not 10 <= len(raw) <= 50:
        return False
    digits = "".join(ch for ch in raw if ch in "0123456789")
    if len(digits) not in (10, 14):
        return False
    usc_id = digits[:10]
    ascending = "01234567890123456789"
    descending = ascending[::-1]
    return not (usc_id[0] == "0" or len(set(usc_id)) == 1 or usc_id in ascending or usc_id in descending)


@override_settings(USC_TEST_ID_DENYLIST=[])
@hypothesis_settings(max_examples=1500, deadline=None)
@given(st.text(max_size=80))
def test_parse_card_never_raises_and_accepts_exactly_the_valid_shapes(raw):
    card = parse_card(raw)

    assert card.ok == _expected_ok(raw)
    assert card.ok == (not card.errors)
    if card.ok:
        assert re.fullmatch(r"[1-9][0-9]{9}", card.usc_id)
        assert card.last4 == card.usc_id[-4:]


@override_settings(USC_TEST_ID_DENYLIST=[])
@hypothesis_settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from("0123456789"), st.sampled_from(" -;%?^/=ABZ\t")),
        min_size=0,
        max_size=60,
    ).map("".join)
)
def test_parse_card_on_digit_heavy_input_matches_the_spec(raw):
    assert parse_card(raw).ok == _expected_ok(raw)
