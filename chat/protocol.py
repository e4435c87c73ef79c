"""The WebSocket protocol, client → server: one schema per message type, unknown fields
rejected. Documented in README.md ("WebSocket protocol")."""

import json
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from chat.models import MAX_CALL_SECONDS, MIN_CALL_SECONDS, TextChatMessage

MAX_FRAME_BYTES = 64 * 1024
# A browser's ICE candidate (RTCIceCandidate.toJSON()) is a few hundred bytes; a relay of 60 KB
# "candidates" only pushes bytes at the partner.
MAX_ICE_CANDIDATE_BYTES = 4096


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]  # PostgreSQL text cannot hold NUL
RequestId = Annotated[Text, Field(min_length=1, max_length=64)]
Seconds = Annotated[int, Field(ge=MIN_CALL_SECONDS, le=MAX_CALL_SECONDS, strict=True)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: RequestId | None = None


class Auth(Message):
    type: Literal["auth"]
    token: Annotated[Text, Field(min_length=1, max_length=128)]
    since: Annotated[int, Field(ge=0)] | None = None  # last message id seen, for room.resume


class Ping(Message):
    type: Literal["ping"]


class PresenceSet(Message):
    type: Literal["presence.set"]
    available: bool
    modes: Annotated[list[Literal["video", "text"]], Field(min_length=1, max_length=2)] = ["video", "text"]


class PresenceState(Message):
    """What the client's pages are doing, for the server's "available while browsing" rule
    (chat/presence_state.py): `reel` (a page shows the reel or a call), `browsing` (only other
    pages), `away` (leaving). `visible`: some page is shown and focused. `active`: the person
    used a page since the client's last report. Sent on every change, and at most every 30 s
    while the person is active."""

    type: Literal["presence.state"]
    state: Literal["reel", "browsing", "away"]
    visible: bool = True
    active: bool = False


class CallInvite(Message):
    type: Literal["call.invite"]
    to: Annotated[UUID, Field(description="The person's id: a reel card's, or the card POST /api/reel/by-code gave")]
    mode: Literal["video", "text"]
    seconds: Seconds


class CallAccept(Message):
    type: Literal["call.accept"]
    invite: UUID
    seconds: Seconds


class CallDecline(Message):
    type: Literal["call.decline"]
    invite: UUID


class CallCancel(Message):
    type: Literal["call.cancel"]
    invite: UUID


class RoomMessage(Message):
    room: UUID


class RtcOffer(RoomMessage):
    type: Literal["rtc.offer"]
    sdp: Annotated[Text, Field(max_length=20_000)]


class RtcAnswer(RoomMessage):
    type: Literal["rtc.answer"]
    sdp: Annotated[Text, Field(max_length=20_000)]


def _small_candidate(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value).encode()) > MAX_ICE_CANDIDATE_BYTES:
        raise ValueError(f"an ICE candidate is at most {MAX_ICE_CANDIDATE_BYTES} bytes")
    return value


class RtcIce(RoomMessage):
    type: Literal["rtc.ice"]
    # None: end of candidates.
    candidate: Annotated[dict[str, Any] | None, AfterValidator(_small_candidate)] = None


class ChatMessage(RoomMessage):
    type: Literal["chat.message"]
    client_id: Annotated[Text, Field(min_length=1, max_length=64)]
    text: Annotated[Text, Field(max_length=TextChatMessage.MAX_LENGTH)] = ""
    gif_url: Annotated[Text, Field(max_length=TextChatMessage.MAX_URL_LENGTH)] = ""


class ChatTyping(RoomMessage):
    type: Literal["chat.typing"]


class RoomEnd(RoomMessage):
    type: Literal["room.end"]


class RoomResume(Message):
    type: Literal["room.resume"]
    since: Annotated[int, Field(ge=0)] | None = None


class RoomShareSocials(RoomMessage):
    type: Literal["room.share_socials"]


class RoomUpgradeRequest(RoomMessage):
    type: Literal["room.upgrade_request"]


class RoomUpgradeAccept(RoomMessage):
    type: Literal["room.upgrade_accept"]


INBOUND = (
    Auth,
    Ping,
    PresenceSet,
    PresenceState,
    CallInvite,
    CallAccept,
    CallDecline,
    CallCancel,
    RtcOffer,
    RtcAnswer,
    RtcIce,
    ChatMessage,
    ChatTyping,
    RoomEnd,
    RoomResume,
    RoomShareSocials,
    RoomUpgradeRequest,
    RoomUpgradeAccept,
)
TYPES = {model.model_fields["type"].annotation.__args__[0]: model for model in INBOUND}
_adapters = {name: TypeAdapter(model) for name, model in TYPES.items()}


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id=None):
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


def _request_id(content) -> str | None:
    value = content.get("id") if isinstance(content, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def parse(content) -> Message:
    """A validated inbound message, or ProtocolError(code, message) naming what is wrong."""
    if not isinstance(content, dict):
        raise ProtocolError("malformed", "A message is a JSON object.")
    kind = content.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise ProtocolError("unknown_type", f"Unknown message type {str(kind)[:40]!r}.", _request_id(content))
    try:
        return _adapters[kind].validate_python(content)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors()[:5])
        raise ProtocolError("invalid_message", problems[:500], _request_id(content)) from exc
