"""Realtime writes, one module per topic: invites, rooms (the end of a call and the
in-call actions), timers, connections (grace and resume), messages and matches (after a call).

Every function is one transaction that locks the rows deciding its outcome, then checks. The
hot ones (invite, accept, decline/cancel, message, end) are one statement each: a PL/pgSQL
function in chat/sql/ (send_invite.sql, accept_invite.sql, ...), which is the rule (docs/hot-path.md). Events go out
only after commit (config.realtime.send_to_users). This package's names are its interface:
callers import from `chat.services`, never from the topic modules' private helpers."""

from chat.services.connections import (
    mark_connected,
    mark_disconnected,
    restart_graces,
    start_grace_for_vanished_members,
)
from chat.services.invites import (
    accept_invite,
    cancel_invite,
    decline_invite,
    expire_overdue_invites,
    send_invite,
)
from chat.services.matches import (
    MeetAgain,
    answer_meet_again,
    meet_again_state,
    share_socials_with_match,
    unmatch,
)
from chat.services.messages import (
    MESSAGE_SPACING,
    MessageDraft,
    MessageOutcome,
    PostResult,
    draft_message,
    message_outcome,
    post_message,
    share_socials,
)
from chat.services.photos import (
    SentPhoto,
    apply_photo_verdict,
    delete_photo_files,
    photo_files_of_user,
    screen_photo,
    send_photo,
)
from chat.services.rooms import (
    EndResult,
    accept_upgrade,
    end_live_room_of,
    end_room,
    end_room_args,
    end_room_by_member,
    end_room_events,
    relay_target,
    request_upgrade,
)
from chat.services.timers import apply_room_timers, due_rooms, end_overdue_rooms, room_timer_step

__all__ = [
    "MESSAGE_SPACING",
    "EndResult",
    "MeetAgain",
    "MessageDraft",
    "MessageOutcome",
    "PostResult",
    "SentPhoto",
    "accept_invite",
    "accept_upgrade",
    "answer_meet_again",
    "apply_photo_verdict",
    "apply_room_timers",
    "cancel_invite",
    "decline_invite",
    "delete_photo_files",
    "draft_message",
    "due_rooms",
    "end_live_room_of",
    "end_overdue_rooms",
    "end_room",
    "end_room_args",
    "end_room_by_member",
    "end_room_events",
    "expire_overdue_invites",
    "mark_connected",
    "mark_disconnected",
    "meet_again_state",
    "message_outcome",
    "photo_files_of_user",
    "post_message",
    "relay_target",
    "request_upgrade",
    "restart_graces",
    "room_timer_step",
    "screen_photo",
    "send_invite",
    "send_photo",
    "share_socials",
    "share_socials_with_match",
    "start_grace_for_vanished_members",
    "unmatch",
]
