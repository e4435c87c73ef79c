"""Reads of the realtime domain, including permission-checked fetches."""

from django.db.models import Q
from django.utils import timezone

from chat.errors import NotAMember
from chat.models import ActiveRoom, ActiveRoomMember, Cooldown, TextChatMessage


def ordered_pair(a, b) -> tuple:
    """The (user_low, user_high) order of the cooldowns table (UUIDs compare as PostgreSQL does)."""
    return (a, b) if str(a) < str(b) else (b, a)


def on_cooldown(a_id, b_id) -> bool:
    low, high = ordered_pair(a_id, b_id)
    return Cooldown.objects.filter(user_low_id=low, user_high_id=high, expires_at__gt=timezone.now()).exists()


def live_room_id_of(user_id):
    """The id of the user's live room, or None (one indexed lookup: the member's primary key)."""
    return ActiveRoomMember.objects.filter(user_id=user_id).values_list("room_id", flat=True).first()


def get_live_room_for_member(user_id, room_id) -> ActiveRoom:
    """The live room `room_id` if `user_id` is in it; NotAMember otherwise (a stranger, an
    ended room and a made-up id all look the same)."""
    room = ActiveRoom.objects.filter(
        Q(user_1_id=user_id) | Q(user_2_id=user_id), pk=room_id, members__user_id=user_id
    ).first()
    if room is None:
        raise NotAMember()
    return room


def messages_since(room_id, since_id: int | None = None, *, limit: int = 500) -> list[TextChatMessage]:
    """The room's messages after `since_id` (all when None), oldest first: reconnect replay."""
    rows = TextChatMessage.objects.filter(room_id=room_id, deleted=False)
    if since_id:
        rows = rows.filter(pk__gt=since_id)
    return list(rows.order_by("pk")[:limit])
