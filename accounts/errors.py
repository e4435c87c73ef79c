"""Refusals of the accounts domain (mapped to HTTP by config.api)."""

from config.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated


class Banned(Forbidden):
    code = "banned"
    message = "This account is banned."


class IPBanned(Forbidden):
    code = "ip_banned"
    message = "Requests from this network are blocked."


class RequiresInviteCode(Forbidden):
    code = "requires_invite_code"
    message = "An invite code (or a USC card) is needed to sign up."


class InvalidCredentials(InvalidInput):
    code = "invalid_credentials"
    message = "Email or password is not correct."


class InvalidCode(InvalidInput):
    code = "invalid_code"
    message = "That code is not valid or has expired."


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message = "The session token is not valid or has expired."


class AccountExpired(NotAuthenticated):
    code = "account_expired"
    message = "This guest account has expired."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "That email address belongs to another account."


class EmailNotVerified(Conflict):
    code = "email_not_verified"
    message = "Verify an email address first."


class NoAccess(Forbidden):
    code = "no_access"
    message = "Your account does not have access yet (use an invite code or a USC card)."


class ProtectedAccount(Forbidden):
    code = "protected_account"
    message = "Only a superuser may act on a staff or superuser account."
