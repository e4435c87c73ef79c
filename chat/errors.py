"""Refusals of the realtime domain. The WebSocket sends them as error{code, message}."""

from config.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, RateLimited, ServiceError


class NotAvailable(Conflict):
    code = "not_available"
    message = "That person is not available right now."


class Busy(Conflict):
    code = "busy"
    message = "That person is already in a call or being invited."


class OnCooldown(Conflict):
    code = "on_cooldown"
    message = "You two cannot be matched again yet."


class InvitePending(Conflict):
    code = "invite_pending"
    message = "You already have an invite out; cancel it first."


class InviteNotFound(NotFound):
    code = "invite_not_found"
    message = "No such invite."


class InviteExpired(Gone):
    code = "invite_expired"
    message = "The invite expired (20 seconds)."


class InviteNotPending(Conflict):
    code = "invite_not_pending"
    message = "The invite was already answered or cancelled."


class AlreadyInRoom(Conflict):
    code = "already_in_room"
    message = "One of you is already in a call."


class NotAMember(Forbidden):
    code = "not_a_member"
    message = "You are not in that room."


class RoomEnded(Gone):
    code = "room_ended"
    message = "That call has ended."


class TooFast(RateLimited):
    code = "too_fast"
    message = "Slow down: one message every 1.5 seconds."


class NotAllowedNow(Conflict):
    code = "not_allowed_now"
    message = "That is not possible in this call right now."


class InvalidMessage(InvalidInput):
    code = "invalid_message"
    message = "That message is not valid."


class CallNotFound(NotFound):
    code = "not_found"
    message = "No such call of yours."


class CallNotOver(Conflict):
    code = "room_not_ended"
    message = "Answer once the call has ended."


class MeetAgainClosed(Gone):
    code = "meet_again_closed"
    message = "Answers are taken for 24 hours after a call; this one is closed."


class AlreadyMatched(Conflict):
    code = "already_matched"
    message = "You two are matched; unmatch instead."


class MatchNotFound(NotFound):
    code = "not_found"
    message = "No such match of yours."


class NoOneWithCode(NotFound):
    """A code that names no one the caller could call now: unknown, their own, or a person the
    reel would not show them. One answer for all, so a code's owner cannot be probed."""

    code = "no_one_with_code"
    message = "No one you can call right now has that code."


class PhotoTooLarge(ServiceError):
    status = 413
    code = "photo_too_large"
    message = "The photo must be at most 5 MB."


class NotATextCall(Conflict):
    code = "not_a_text_call"
    message = "Photos can be sent in text calls only."


class PhotoNotFound(NotFound):
    code = "photo_not_found"
    message = "No such photo, or it is not yours to see."


class PhotoGone(Gone):
    code = "photo_gone"
    message = "This photo is no longer kept."
