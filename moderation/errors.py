"""Refusals of the moderation domain (mapped to HTTP by config.api)."""

from accounts.errors import ProtectedAccount  # noqa: F401 - raised by moderation services too
from config.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound


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


class ExportNotFound(NotFound):
    code = "not_found"
    message = "No such export of yours."


class ExportNotReady(Conflict):
    code = "export_not_ready"
    message = "The export is still being prepared (or failed: request a new one)."


class ExportExpired(Gone):
    code = "export_expired"
    message = "This export expired 24 hours after it was made; request a new one."


class OwnReport(Forbidden):
    code = "own_report"
    message = "You reported this person; another moderator must decide."
