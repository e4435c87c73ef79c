"""Invites, rooms, messages, cooldowns and the records a finished call leaves, matches, blocks
and event mode: one module per topic, all re-exported here (`from chat.models import X`).

Presence lives in Redis (ephemeral by design); everything here is the source of truth."""

from chat.models.blocks import Block
from chat.models.common import MAX_CALL_SECONDS, MIN_CALL_SECONDS, ChatMode
from chat.models.event_mode import EventAccessPass, EventRSVP, EventSettings
from chat.models.invites import CallInvite, CallInviteStatus, Cooldown, CooldownReason
from chat.models.matches import Match, MeetAgainAnswer
from chat.models.messages import (
    ArchivedChatHistory,
    ArchivedTextChatMessage,
    ChatHistory,
    TextChatMessage,
    TextChatMessageType,
)
from chat.models.photos import CallPhoto, CallPhotoStatus
from chat.models.rooms import ActiveRoom, ActiveRoomEndReason, ActiveRoomMember, ActiveRoomStatus, SessionCompletion

__all__ = [
    "MAX_CALL_SECONDS",
    "MIN_CALL_SECONDS",
    "ActiveRoom",
    "ActiveRoomEndReason",
    "ActiveRoomMember",
    "ActiveRoomStatus",
    "ArchivedChatHistory",
    "ArchivedTextChatMessage",
    "Block",
    "CallInvite",
    "CallInviteStatus",
    "CallPhoto",
    "CallPhotoStatus",
    "ChatHistory",
    "ChatMode",
    "Cooldown",
    "CooldownReason",
    "EventAccessPass",
    "EventRSVP",
    "EventSettings",
    "Match",
    "MeetAgainAnswer",
    "SessionCompletion",
    "TextChatMessage",
    "TextChatMessageType",
]
