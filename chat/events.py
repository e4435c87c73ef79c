"""Payloads of server → client events. Built from database rows, so a reconnect can rebuild
any of them (events are hints; the database is the truth)."""

from django.core.files.storage import default_storage

from accounts.models import User
from chat.models import ActiveRoom, CallInvite, TextChatMessage


def user_card(user: User) -> dict:
    return {
        "id": str(user.pk),
        "name": user.name,
        "gender": user.gender,
        "selfie_url": default_storage.url(user.selfie.name) if user.selfie else None,
        "video_url": default_storage.url(user.video.name) if user.video else None,
    }


def invite_payload(invite: CallInvite) -> dict:
    return {
        "invite": str(invite.pk),
        "from": str(invite.from_user_id),
        "to": str(invite.to_user_id),
        "mode": invite.chat_mode,
        "seconds": invite.requested_seconds,
        "expires_at": invite.expires_at.isoformat(),
        "status": invite.status,
    }


def message_payload(message: TextChatMessage) -> dict:
    return {
        "message_id": message.pk,
        "room": str(message.room_id),
        "sender": str(message.sender_id) if message.sender_id else None,
        "kind": message.type,
        "text": message.content,
        "url": message.url or None,
        "client_id": message.client_id,
        "sent_at": message.sent_at.isoformat(),
    }


def room_payload(room: ActiveRoom, *, for_user_id, partner: User) -> dict:
    return {
        "room": str(room.pk),
        "mode": room.chat_mode,
        "status": room.status,
        "started_at": room.started_at.isoformat(),
        "ends_at": room.ends_at.isoformat(),
        "duration_seconds": room.duration_seconds,
        "partner": user_card(partner),
    }


def metrics_payload(user: User) -> dict:
    return {
        "timer_total_seconds": user.timer_total_seconds,
        "session_count": user.session_count,
        "successful_sessions": user.successful_sessions,
        "qr_unlocked": user.qr_unlocked,
        "access_status": user.access_status,
    }
