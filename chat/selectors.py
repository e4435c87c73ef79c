"""Reads of the realtime domain, including permission-checked fetches."""

from django.db import connection
from django.utils import timezone

from chat.models import ActiveRoomMember, ChatHistory, Cooldown, TextChatMessage


def ordered_pair(a, b) -> tuple:
    """The (user_low, user_high) order of the cooldowns table (UUIDs compare as PostgreSQL does)."""
    return (a, b) if str(a) < str(b) else (b, a)


def on_cooldown(a_id, b_id) -> bool:
    low, high = ordered_pair(a_id, b_id)
    return Cooldown.objects.filter(user_low_id=low, user_high_id=high, expires_at__gt=timezone.now()).exists()


_LIVE_ROOM_SQL = "SELECT {room} FROM {table} WHERE {user} = %s".format(  # noqa: S608 - names from the model
    room=ActiveRoomMember._meta.get_field("room").column,
    table=ActiveRoomMember._meta.db_table,
    user=ActiveRoomMember._meta.get_field("user").column,
)


def live_room_id_of(user_id):
    """The id of the user's live room, or None (one indexed lookup: the member's primary key).
    Plain SQL: every connect asks it, and building the ORM query cost more than running it
    (py-spy: ~9 % of an ASGI worker's GIL time in a burst)."""
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_ROOM_SQL, [user_id])
        row = cursor.fetchone()
    return row[0] if row else None


def messages_since(room_id, since_id: int | None = None, *, limit: int = 500) -> list[TextChatMessage]:
    """The room's messages after `since_id` (all when None), oldest first: reconnect replay."""
    rows = TextChatMessage.objects.filter(room_id=room_id, deleted=False)
    if since_id:
        rows = rows.filter(pk__gt=since_id)
    return list(rows.order_by("pk")[:limit])


def list_chat_history(user):
    """The user's finished calls (history page), for a newest-first cursor list."""
    return ChatHistory.objects.filter(user=user)


def message_snapshot(message: TextChatMessage) -> dict:
    """One message as the snapshots store it (chat_history at the end of a call, a report's
    messages_snapshot): JSON-ready, the sender by id."""
    return {
        "id": message.pk,
        "sender": str(message.sender_id) if message.sender_id else None,
        "kind": message.type,
        "text": message.content,
        "url": message.url or None,
        "sent_at": message.sent_at.isoformat(),
    }
