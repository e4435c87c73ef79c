"""Refusals of the moderation domain (mapped to HTTP by config.api)."""

from accounts.errors import ProtectedAccount  # noqa: F401 - raised by moderation services too
from config.errors import Conflict, Forbidden, InvalidInput


class AlreadyReported(Conflict):
    code = "already_reported"
    message = "You have already reported this person."


class CannotReport(Forbidden):
    code = "cannot_report"
    message = "You can report people you shared a call with, or a profile you saw in the reel."


class CannotReportSelf(InvalidInput):
    code = "invalid"
    message = "You cannot report yourself."


class NotBanned(Conflict):
    code = "not_banned"
    message = "This user has no ban to review or lift."


class InvalidIPAddress(InvalidInput):
    code = "invalid"
    message = "That is not a valid IP address."
