"""Helpers for the USC card tests: valid test cards and the API calls of the card flows."""

import re

from django.core import mail
from django.test import TestCase

from tests.api_support import api

# Valid cards (not a run, no repeated digit, no leading 0). Never real IDs.
CARD = "2718281828"
CARD_BARCODE = "27182818284590"  # the same ID as a 14-digit barcode
OTHER_CARD = "3141592653"
THIRD_CARD = "1618033988"
FOURTH_CARD = "5772156649"

IP = "198.51.100.7"


def scan(barcode: str, *, ip: str = IP):
    return api().post("/api/usc/verify-card", {"barcode": barcode}, format="json", REMOTE_ADDR=ip)


def scan_token(barcode: str = CARD, *, ip: str = IP) -> str:
    response = scan(barcode, ip=ip)
    assert response.status_code == 200, response.content
    return response.json()["scan_token"]


def usc_signup(token: str, *, ip: str = IP, **extra):
    payload = {"name": "Trojan", "gender": "male", "terms_accepted": True, "usc_scan_token": token, **extra}
    return api().post("/api/auth/signup", payload, format="json", REMOTE_ADDR=ip)


def finalize(session_token: str, scan_token: str | None = None, *, ip: str = IP):
    body = {"scan_token": scan_token} if scan_token else {}
    return api(session_token).post("/api/usc/finalize-registration", body, format="json", REMOTE_ADDR=ip)


def login_start(barcode: str = CARD, *, ip: str = IP):
    """Step 1 of card login; the code email (sent on commit) lands in mail.outbox."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api().post("/api/usc/login/start", {"barcode": barcode}, format="json", REMOTE_ADDR=ip)


def login_complete(code: str, barcode: str = CARD, *, ip: str = IP):
    return api().post("/api/usc/login/complete", {"barcode": barcode, "code": code}, format="json", REMOTE_ADDR=ip)


def last_emailed_code(to: str | None = None) -> str:
    messages = [m for m in mail.outbox if to is None or to in m.to]
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


def error_code(response) -> str:
    return response.json()["error"]["code"]
