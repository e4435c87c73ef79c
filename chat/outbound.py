"""The WebSocket protocol, server → client: one pydantic model per event type, as
chat/protocol.py has for the client's messages. chat/asyncapi.py publishes both as an
AsyncAPI 3 document (/api/asyncapi.json); the WS test suite validates every frame the server
sends against that document. The emitting code builds plain dicts (chat/events.py and the
services); these models describe them, they do not build them."""

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from accounts.models import UserAccessStatus, UserBanStatus, UserGender
from chat.models import (
    MAX_CALL_SECONDS,
    MIN_CALL_SECONDS,
    ActiveRoomEndReason,
    ActiveRoomStatus,
    CallInviteStatus,
    ChatMode,
    TextChatMessageType,
)


def _enum(name: str, choices) -> type[Enum]:
    """A Django TextChoices as a plain Enum, so the JSON Schema lists exactly its values."""
    return Enum(name, {value: value for value in choices.values}, type=str)


Mode = _enum("Mode", ChatMode)
Gender = _enum("Gender", UserGender)
InviteStatus = _enum("InviteStatus", CallInviteStatus)
RoomStatus = _enum("RoomStatus", ActiveRoomStatus)
EndReason = _enum("EndReason", ActiveRoomEndReason)
MessageKind = _enum("MessageKind", TextChatMessageType)
AccessStatus = _enum("AccessStatus", UserAccessStatus)
BanStatus = _enum("BanStatus", UserBanStatus)
Seconds = Annotated[int, Field(ge=MIN_CALL_SECONDS, le=MAX_CALL_SECONDS)]
RequestId = Annotated[str, Field(min_length=1, max_length=64)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoomTimer(Enum):
    """What a pushed event means for the receiving socket's room timer (chat/consumers.py)."""

    NONE = "none"
    WATCH = "watch"  # a room started: wake at its deadlines
    REARM = "rearm"  # the room's next deadline may have moved (grace started or lifted, ...): re-read it
    STOP = "stop"  # the room ended


class Event(Payload):
    """A frame the server sends; `type` names it."""

    room_timer: ClassVar[RoomTimer] = RoomTimer.NONE


# --- parts ---------------------------------------------------------------------------------


class UserCard(Payload):
    id: UUID
    name: str
    gender: Gender
    selfie_url: str | None
    video_url: str | None


class AckUser(Payload):
    id: UUID
    name: str


class PresenceChange(Payload):
    user: UUID
    online: bool
    available: bool


class StoredMessage(Payload):
    message_id: int
    room: UUID
    sender: UUID | None = Field(description="null for a system message whose sender was deleted")
    kind: MessageKind
    text: str
    url: str | None
    client_id: str | None
    sent_at: datetime


class InviteFields(Payload):
    invite: UUID
    from_: UUID = Field(alias="from")
    to: UUID
    mode: Mode
    seconds: Seconds
    expires_at: datetime
    status: InviteStatus


class RoomFields(Payload):
    room: UUID
    mode: Mode
    status: RoomStatus
    started_at: datetime
    ends_at: datetime
    duration_seconds: Seconds
    partner: UserCard


# --- answers to the client's messages ------------------------------------------------------


class Ack(Event):
    """The answer to a client message that was carried out. Which extra fields come depends
    on `for` (auth: user, session; call.invite: invite, expires_at; call.accept: room,
    ends_at; chat.message: message_id, client_id, duplicate; presence.set: available, modes;
    presence.state: state, available, lapses_at (null: not by time);
    room.share_socials: message_id; room.end: room, already_ended)."""

    type: Literal["ack"]
    id: RequestId | None
    for_: str = Field(alias="for", description="the type of the message answered")
    user: AckUser | None = None
    session: int | None = None
    invite: UUID | None = None
    expires_at: datetime | None = None
    room: UUID | None = None
    ends_at: datetime | None = None
    message_id: int | None = None
    client_id: str | None = None
    duplicate: bool | None = None
    available: bool | None = None
    modes: list[Mode] | None = None
    state: Literal["reel", "browsing", "away"] | None = None
    lapses_at: datetime | None = Field(
        default=None, description="presence.state: when the person stops counting as available (null: not by time)"
    )
    already_ended: bool | None = Field(
        default=None, description="room.end: the room had ended already (a retry, or the other side was first)"
    )


class Error(Event):
    """The answer to a client message that was refused; the socket stays open."""

    type: Literal["error"]
    id: RequestId | None
    code: str = Field(description="stable, to branch on (README: error codes)")
    message: str
    retry_after: int | None = Field(
        default=None, description="seconds, with too_fast, rate_limited and service_unavailable"
    )
    ban_status: BanStatus | None = None
    access_status: AccessStatus | None = None
    fields: dict[str, Any] | None = None
    next_start: datetime | None = Field(default=None, description="with event_closed: the next window opens (UTC)")
    next_end: datetime | None = Field(default=None, description="with event_closed: the next window closes (UTC)")
    timezone: str | None = Field(default=None, description="with event_closed: the event's IANA zone")


class Closing(Event):
    """Sent just before the server closes the socket with this code and reason."""

    type: Literal["closing"]
    code: Annotated[int, Field(ge=4000, le=4999)]
    reason: Literal[
        "auth_timeout",
        "not_authenticated",
        "invalid_token",
        "session_invalidated",
        "banned",
        "ip_banned",
        "overloaded",
        "too_many_sockets",
        "rate_limited",
    ]
    retry_after: int | None = Field(default=None, description="with 4013 overloaded: seconds before reconnecting")
    limit: int | None = Field(default=None, description="with 4029 too_many_sockets: sockets allowed per user")


# --- pushed events -------------------------------------------------------------------------


class PresenceUpdate(Event):
    """Presence changes, batched at most once a second (a hint: re-read the reel)."""

    type: Literal["presence.update"]
    users: list[PresenceChange]


class CallIncoming(InviteFields, Event):
    type: Literal["call.incoming"]
    caller: UserCard


class CallCancelled(InviteFields, Event):
    type: Literal["call.cancelled"]


class CallDeclined(InviteFields, Event):
    type: Literal["call.declined"]


class CallExpired(InviteFields, Event):
    type: Literal["call.expired"]


class RoomStart(RoomFields, Event):
    room_timer: ClassVar[RoomTimer] = RoomTimer.WATCH
    type: Literal["room.start"]


class RoomResumeEvent(RoomFields, Event):
    """After (re)connecting into a live call: the room and the messages after `since`."""

    type: Literal["room.resume"]
    messages: list[StoredMessage]


class ChatMessageEvent(StoredMessage, Event):
    type: Literal["chat.message"]
    socials: dict[str, str] | None = Field(default=None, description="with a shared-socials system message")
    screened: Literal["censor", "flag"] | None = Field(
        default=None,
        description='screening masked ("censor") or flagged ("flag") this message: the recipient is offered '
        '"Does this bother you?" (a report with the room\'s messages attached)',
    )


class ChatPhotoRefused(Event):
    """To the sender only: screening found nudity in the photo I sent in a text call; my partner
    never received it, and a moderator will review it (docs/screening.md)."""

    type: Literal["chat.photo_refused"]
    room: UUID
    message_id: int
    client_id: str | None
    message: str = Field(description="the sentence to show the sender")


class Relayed(Event):
    room: UUID
    from_: UUID = Field(alias="from")


class ChatTypingEvent(Relayed):
    type: Literal["chat.typing"]


class RtcOfferEvent(Relayed):
    type: Literal["rtc.offer"]
    sdp: str


class RtcAnswerEvent(Relayed):
    type: Literal["rtc.answer"]
    sdp: str


class RtcIceEvent(Relayed):
    type: Literal["rtc.ice"]
    candidate: dict[str, Any] | None


class RoomPartnerDisconnected(Event):
    room_timer: ClassVar[RoomTimer] = RoomTimer.REARM
    type: Literal["room.partner_disconnected"]
    room: UUID
    grace_until: datetime | None


class RoomPartnerReconnected(Event):
    room_timer: ClassVar[RoomTimer] = RoomTimer.REARM
    type: Literal["room.partner_reconnected"]
    room: UUID


class RoomInactivityWarning(Event):
    room_timer: ClassVar[RoomTimer] = RoomTimer.REARM
    type: Literal["room.inactivity_warning"]
    room: UUID
    ends_at: datetime


class RoomUpgradeRequested(Event):
    type: Literal["room.upgrade_requested"]
    room: UUID
    by: UUID


class RoomUpgraded(Event):
    room_timer: ClassVar[RoomTimer] = RoomTimer.REARM
    type: Literal["room.upgraded"]
    room: UUID
    mode: Literal["video"]


class RoomEnded(Event):
    room_timer: ClassVar[RoomTimer] = RoomTimer.STOP
    type: Literal["room.ended"]
    room: UUID
    reason: EndReason


class MeMetrics(Event):
    type: Literal["me.metrics"]
    timer_total_seconds: Annotated[int, Field(ge=0)]
    session_count: Annotated[int, Field(ge=0)]
    successful_sessions: Annotated[int, Field(ge=0)]
    qr_unlocked: bool
    access_status: AccessStatus


class ReferralNotification(Event):
    type: Literal["referral.notification"]
    id: int
    referred_user_id: UUID
    referred_name: str
    introduced_by_id: UUID | None
    introduced_by_name: str
    read: bool
    created_at: datetime


class SessionInvalidated(Event):
    """These sessions were signed out; a socket of one of them closes 4001 session_invalidated."""

    type: Literal["session_invalidated"]
    sessions: list[int]
    reason: str


class ReelChanged(Event):
    """Many people's presence changed at once (a burst): no identities; re-read the reel."""

    type: Literal["reel.changed"]


class EventSettingsChanged(Event):
    """Staff changed event mode: the new public status (GET /api/events/status without may_enter)."""

    type: Literal["event.settings_changed"]
    status: dict[str, Any]


class MatchNew(Event):
    """Both answered "I'd meet again" after a call: each side gets this once (GET /api/matches)."""

    type: Literal["match.new"]
    match: UUID
    room: UUID | None
    created_at: datetime
    partner: UserCard


class Banned(Event):
    """This account was banned; the socket closes 4003 banned."""

    type: Literal["banned"]
    ban_status: BanStatus


class StrikeNew(Event):
    """A moderation decision about this account (or the automatic ban): GET /api/me/strikes
    has it, with its appeal deadline."""

    type: Literal["strike.new"]
    strike: int
    action: Literal["warning", "suspension", "ban"]
    reason: str
    created_at: datetime
    ends_at: datetime | None = Field(description="a suspension's end; null: permanent, or until reviewed")


class ReportOutcomeEvent(Event):
    """A report this user filed was decided: action taken or no violation (never the sanction)."""

    type: Literal["report.outcome"]
    report: int
    outcome: Literal["upheld", "rejected"]
    message: str
    decided_at: datetime


class AppealDecidedEvent(Event):
    """This user's appeal was decided; `overturned` means the action was reversed."""

    type: Literal["appeal.decided"]
    appeal: int
    strike: int
    status: Literal["upheld", "overturned"]
    reason: str
    decided_at: datetime


class MediaReview(Event):
    """Screening hid my selfie or intro video pending a moderator's review ("hidden"), or the
    moderator decided: shown again ("restored") or removed ("removed")."""

    type: Literal["media.review"]
    media: Literal["selfie", "video"]
    status: Literal["hidden", "restored", "removed"]


OUTBOUND: tuple[type[Event], ...] = (
    Ack,
    Error,
    Closing,
    PresenceUpdate,
    CallIncoming,
    CallCancelled,
    CallDeclined,
    CallExpired,
    RoomStart,
    RoomResumeEvent,
    ChatMessageEvent,
    ChatPhotoRefused,
    ChatTypingEvent,
    RtcOfferEvent,
    RtcAnswerEvent,
    RtcIceEvent,
    RoomPartnerDisconnected,
    RoomPartnerReconnected,
    RoomInactivityWarning,
    RoomUpgradeRequested,
    RoomUpgraded,
    RoomEnded,
    MeMetrics,
    ReferralNotification,
    SessionInvalidated,
    Banned,
    ReelChanged,
    EventSettingsChanged,
    MatchNew,
    StrikeNew,
    ReportOutcomeEvent,
    AppealDecidedEvent,
    MediaReview,
)
TYPES = {model.model_fields["type"].annotation.__args__[0]: model for model in OUTBOUND}


def room_timer_of(event_type: str | None) -> RoomTimer:
    """The room-timer meaning of a pushed event type (NONE for a type not described here)."""
    model = TYPES.get(event_type)
    return model.room_timer if model is not None else RoomTimer.NONE
