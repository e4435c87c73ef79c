"""After a call: "I'd meet again" answers, matches, unmatching, the socials shown to a match.

Rules (README → Matches):
- Either member of an ended room may answer yes or no until 24 h after its end (410 after),
  and change the answer as often as they like until a match is made.
- Two yeses about the same room make the pair's one match row (user_low < user_high, unique),
  under both users' row locks (id order), so two simultaneous yeses make one row and one
  `match.new` to each side. The match deletes the pair's cooldown, and rdv_end_room (chat
  0009) gives a matched pair no session-end cooldown.
- Nobody learns the other's answer: an answer is never refused or shaped by what the other
  said (a refusal after the other answered would tell a "yes" that no match means "no"), and
  reads return only one's own answer and, if made, the match.
- A block between the two (chat.services.blocks) deletes their match, and two yeses across a
  block make none: the answer is stored as usual, so nothing tells the blocked person.
- Unmatching deletes the row for both, silently for the other (telling them would be telling a
  "no"), and turns the unmatcher's yeses about the pair's calls into no, so the other's repeated
  yes cannot bring it back. It does not restore a cooldown."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services.locks import lock_users
from accounts.validation import SOCIAL_HANDLES
from chat import events
from chat.errors import AlreadyMatched, CallNotFound, CallNotOver, MatchNotFound, MeetAgainClosed
from chat.models import ActiveRoom, Cooldown, Match, MeetAgainAnswer
from chat.selectors import blocked_either_way, ordered_pair
from chat.services.common import as_uuid
from config.errors import InvalidInput
from config.realtime import send_to_users

logger = logging.getLogger("rendezvous.chat")


@dataclass(frozen=True)
class MeetAgain:
    """What a member may know about their answer for one call: their own answer, when the
    window closes, and the match if both said yes (never the other's answer)."""

    room: ActiveRoom
    answer: bool | None
    answered_at: datetime | None
    closes_at: datetime | None
    match: Match | None
    matched_now: bool = False


def _member_room(user: User, room_id) -> ActiveRoom:
    room_id = as_uuid(room_id, CallNotFound)
    room = ActiveRoom.objects.filter(Q(user_1=user) | Q(user_2=user), pk=room_id).first()
    if room is None:
        raise CallNotFound()
    return room


def _pair_match(a_id, b_id) -> Match | None:
    low, high = ordered_pair(str(a_id), str(b_id))
    return Match.objects.filter(user_low_id=low, user_high_id=high).first()


def _closes_at(room: ActiveRoom) -> datetime | None:
    return room.ended_at + MeetAgainAnswer.WINDOW if room.ended_at else None


def meet_again_state(user: User, *, room_id) -> MeetAgain:
    """GET: my answer for this call of mine (or None), the window, the pair's match."""
    room = _member_room(user, room_id)
    mine = MeetAgainAnswer.objects.filter(room=room, user=user).first()
    return MeetAgain(
        room=room,
        answer=mine.answer if mine else None,
        answered_at=mine.answered_at if mine else None,
        closes_at=_closes_at(room),
        match=_pair_match(room.user_1_id, room.user_2_id),
    )


@transaction.atomic
def answer_meet_again(user: User, *, room_id, answer: bool) -> MeetAgain:
    """PUT: record (or change) my answer; a yes meeting the other's yes makes the match."""
    room = _member_room(user, room_id)
    partner_id = room.partner_id(user.pk)
    lock_users(user.pk, partner_id)  # both answers of this pair queue here, in id order
    room.refresh_from_db(fields=["status", "ended_at"])
    if room.status != ActiveRoom.Status.ENDED:
        raise CallNotOver()
    now = timezone.now()
    if now >= _closes_at(room):
        raise MeetAgainClosed()
    match = _pair_match(user.pk, partner_id)
    if match is not None and not answer:
        raise AlreadyMatched()
    row, _ = MeetAgainAnswer.objects.update_or_create(
        room=room,
        user=user,
        defaults={"answer": answer, "answered_at": now},
        create_defaults={"answer": answer, "answered_at": now, "created_at": now},
    )
    matched_now = False
    if answer and match is None and not blocked_either_way(user.pk, partner_id):
        partner_said_yes = MeetAgainAnswer.objects.filter(room=room, user_id=partner_id, answer=True).exists()
        if partner_said_yes:
            match = _make_match(room, user.pk, partner_id, now)
            matched_now = True
    return MeetAgain(room, row.answer, row.answered_at, _closes_at(room), match, matched_now)


def _make_match(room: ActiveRoom, a_id, b_id, now) -> Match:
    """The pair's match (the caller holds both users' locks) without the pair's cooldown; both
    sides get `match.new` once, after commit."""
    low, high = ordered_pair(str(a_id), str(b_id))
    match = Match.objects.create(user_low_id=low, user_high_id=high, room=room, created_at=now)
    Cooldown.objects.filter(user_low_id=low, user_high_id=high).delete()
    users = {str(u.pk): u for u in User.objects.filter(pk__in=[low, high])}
    for me, other in ((low, high), (high, low)):
        send_to_users([me], new_match_event(match, partner=users[other]))
    logger.info("match %s made from room %s", match.pk, room.pk)
    return match


def new_match_event(match: Match, *, partner: User) -> dict:
    return {
        "type": "match.new",
        "match": str(match.pk),
        "room": str(match.room_id) if match.room_id else None,
        "created_at": match.created_at.isoformat(),
        "partner": events.user_card(partner),
    }


def _my_match(user: User, match_id, *, lock: bool) -> Match:
    match_id = as_uuid(match_id, MatchNotFound)
    rows = Match.objects.filter(Q(user_low=user) | Q(user_high=user), pk=match_id)
    match = (rows.select_for_update() if lock else rows).first()
    if match is None:
        raise MatchNotFound()
    return match


@transaction.atomic
def unmatch(user: User, *, match_id) -> None:
    """DELETE: the match is gone for both; the other is not told. My yeses about the pair's
    calls become no, so their yes cannot remake it (my own new yes can, within the window)."""
    match = _my_match(user, match_id, lock=False)
    lock_users(match.user_low_id, match.user_high_id)
    match = _my_match(user, match_id, lock=True)
    partner_id = match.partner_id(user.pk)
    pair_rooms = ActiveRoom.objects.filter(
        Q(user_1_id=user.pk, user_2_id=partner_id) | Q(user_1_id=partner_id, user_2_id=user.pk)
    ).values("pk")
    MeetAgainAnswer.objects.filter(user=user, room__in=pair_rooms, answer=True).update(
        answer=False, answered_at=timezone.now()
    )
    match.delete()
    logger.info("match %s removed by %s", match_id, user.pk)


def clean_networks(networks) -> list[str]:
    """The networks to share: known names, each once, in a stable order."""
    unknown = sorted({str(n) for n in networks} - set(SOCIAL_HANDLES))
    if unknown:
        choices = ", ".join(sorted(SOCIAL_HANDLES))
        raise InvalidInput(fields={"networks": [f"Unknown network {unknown[0]!r}; use one of {choices}."]})
    return sorted(set(networks))


@transaction.atomic
def share_socials_with_match(user: User, *, match_id, networks) -> Match:
    """PUT: which of my socials my match sees (by network; my current handles are shown)."""
    networks = clean_networks(networks)
    match = _my_match(user, match_id, lock=True)
    field = "low_shares" if str(match.user_low_id) == str(user.pk) else "high_shares"
    setattr(match, field, networks)
    match.save(update_fields=[field])
    return match
