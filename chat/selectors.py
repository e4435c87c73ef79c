"""Reads of the realtime domain, including permission-checked fetches."""

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.selectors import BANNED_STATUSES
from chat.errors import PhotoNotFound
from chat.events import user_card
from chat.models import ActiveRoomMember, Block, CallPhoto, ChatHistory, Cooldown, Match, TextChatMessage


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


def get_photo_for_viewer(user, photo_id) -> CallPhoto:
    """A photo sent in a text call, for someone allowed to see it: its sender (whatever
    screening said), its receiver once screening passed it, or a moderator (staff who can see
    cases). Anyone else, and a photo still being checked for its receiver, is PhotoNotFound
    (the same answer as a made-up id)."""
    photo = CallPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        raise PhotoNotFound()
    if photo.sender_id == user.pk:
        return photo
    if photo.receiver_id == user.pk and photo.status == CallPhoto.Status.PASSED:
        return photo
    if user.is_staff and user.has_perm("moderation.view_case"):
        return photo
    raise PhotoNotFound()


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


def blocked_either_way(a_id, b_id) -> bool:
    """Did either of the two block the other (the same test as rdv_blocked_either_way)."""
    return Block.objects.filter(Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)).exists()


def list_blocks(user):
    """The people `user` blocked (ids and the names of the time), for a newest-first cursor list."""
    return Block.objects.filter(blocker=user)


def list_matches(user):
    """My matches, for a newest-first cursor list; partners who are banned are left out."""
    return Match.objects.filter(
        (Q(user_low=user) & ~Q(user_high__ban_status__in=BANNED_STATUSES))
        | (Q(user_high=user) & ~Q(user_low__ban_status__in=BANNED_STATUSES))
    ).select_related("user_low", "user_high")


def match_view(match, *, for_user) -> dict:
    """A match as one side sees it: the partner's card, the socials the partner shares with me
    (their current handles of the networks they chose), and the networks I share."""
    partner = match.user_high if str(match.user_low_id) == str(for_user.pk) else match.user_low
    partner_shares = match.shares_of(partner.pk)
    socials = partner.socials or {}
    return {
        "id": str(match.pk),
        "room": str(match.room_id) if match.room_id else None,
        "created_at": match.created_at,
        "partner": user_card(partner),
        "partner_socials": {network: socials[network] for network in partner_shares if socials.get(network)},
        "shared_networks": list(match.shares_of(for_user.pk)),
    }
