"""Refusals of the USC card domain (mapped to HTTP by config.api)."""

from config.errors import Conflict, Gone, InvalidInput, NotFound


class InvalidCard(InvalidInput):
    code = "invalid_card"
    message = "That is not a valid USC card barcode."


class InvalidScanToken(InvalidInput):
    code = "invalid_scan_token"
    message = "That card scan is not valid; scan your card again."


class ScanTokenExpired(InvalidInput):
    code = "scan_token_expired"
    message = "That card scan has expired (30 minutes); scan your card again."


class ScanTokenUsed(Conflict):
    code = "scan_token_used"
    message = "That card scan was already used; scan your card again."


class CardRegistered(Conflict):
    code = "card_registered"
    message = "This USC card is already registered to an account. Log in with it instead."


class CardTaken(Conflict):
    code = "card_taken"
    message = "This USC card is bound to another account."


class OtherCardRegistered(Conflict):
    code = "other_card_registered"
    message = "Your account is already registered with another USC card."


class NoPendingScan(Conflict):
    code = "no_pending_scan"
    message = "There is no card scan to finalize: scan your USC card first."


class CardNotRegistered(NotFound):
    code = "card_not_registered"
    message = "No account is registered with this USC card. Sign up with it instead."


class CardLoginNeedsEmail(Conflict):
    code = "no_verified_email"
    message = (
        "This account has no verified email, so it cannot log in by card. "
        "Log in another way and verify your @usc.edu address first."
    )


class UscEmailRequired(Conflict):
    code = "usc_email_required"
    message = "USC card (and admin poster code) accounts need a verified @usc.edu address to become permanent."


class CardAccountExpired(Gone):
    code = "account_expired"
    message = "This guest account has expired. Sign up again."
