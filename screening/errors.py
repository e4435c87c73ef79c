"""Refusals of screening."""

from config.errors import Forbidden, InvalidInput


class MessageBlocked(InvalidInput):
    code = "message_blocked"
    message = (
        "This message wasn't sent: it contains something not allowed in Rendezvous chats "
        "(such as a slur or a word moderators block). Please rephrase it."
    )


class AccountHeld(Forbidden):
    code = "account_held"
    message = "Your account is being reviewed by a moderator; calls and the reel are paused until then."
