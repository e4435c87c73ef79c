"""The reel: who I can invite right now, as one indexed query.

Online and available come from Redis (presence); every other rule is an EXISTS subquery on
an index: not me, not banned, with access, not in a live room (active_room_members PK),
no pair barrier between us (rdv_pair_barriers, chat/sql/pair_barriers.sql, the checks the
invite makes too: no block either way, no live cooldown, not someone I reported; one
anti-join), and "who I want to meet" mutually: their gender
is one I want to meet and mine one they want, and we share a call mode (or both want the
`mode` asked for): plain conditions on the users row fetched by primary key. Introduced
users come first. With `near`, only users whose consented, unexpired
location is within that many km of mine, shown as a distance bucket, never a distance."""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import ASin, Cast, Cos, Power, Radians, Sin, Sqrt
from django.utils import timezone

from accounts.models import User, UserLocation
from accounts.selectors import BANNED_STATUSES
from chat import presence
from chat.errors import NotAvailable
from chat.event_mode import ensure_event_open
from chat.events import user_card
from chat.models import ActiveRoomMember
from config.errors import InvalidInput
from referrals.models import ReferralNotification
from screening.holds import held_subquery, is_held_filter

EARTH_RADIUS_KM = 6371.0
BUCKETS = ((1, "< 1 km"), (5, "1–5 km"), (10, "5–10 km"), (25, "10–25 km"), (50, "25–50 km"))
# The only radii `near` accepts: the buckets' upper limits. Any finer radius would let a viewer
# binary-search a person's distance (14 requests found it to 3 m) and triangulate them.
NEAR_RADII_KM = tuple(limit for limit, _ in BUCKETS)
MAX_PAGE = 50


def distance_bucket(km: float) -> str:
    for limit, label in BUCKETS:
        if km < limit:
            return label
    return "50+ km"


def _distance_km(lat: float, lon: float):
    lat2 = Cast(F("location__latitude"), FloatField())
    lon2 = Cast(F("location__longitude"), FloatField())
    dlat = Radians(lat2 - Value(lat))
    dlon = Radians(lon2 - Value(lon))
    a = Power(Sin(dlat / 2), 2) + Cos(Radians(Value(lat))) * Cos(Radians(lat2)) * Power(Sin(dlon / 2), 2)
    return ExpressionWrapper(2 * EARTH_RADIUS_KM * ASin(Sqrt(a)), output_field=FloatField())


def encode_cursor(introduced: bool, user_id) -> str:
    raw = json.dumps([bool(introduced), str(user_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[bool, str]:
    try:
        introduced, user_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(introduced, bool):
            raise ValueError("introduced is not a boolean")
        return introduced, str(uuid.UUID(str(user_id)))
    except (ValueError, TypeError, RecursionError, binascii.Error) as exc:
        raise InvalidInput("Bad cursor.", fields={"cursor": ["Not a cursor from this list."]}) from exc


@dataclass(frozen=True)
class ReelPage:
    results: list[dict]
    next_cursor: str | None


def _in_reels():
    """Users a reel may show, and who may look at one: active, not banned, with access, not
    held by screening (a look-alike of a banned person waiting for a moderator)."""
    return (
        User.objects.filter(is_active=True)
        .exclude(ban_status__in=BANNED_STATUSES)
        .exclude(access_status=User.AccessStatus.UNPAID)
        .exclude(held_subquery())
    )


def meets_mutually(viewer: User, *, mode: str | None = None) -> RawSQL:
    """Users whose "who I want to meet" and `viewer`'s admit each other: the other's gender is
    in the viewer's meet_genders and the viewer's in theirs; for `mode`, both want it, else they
    share at least one mode. rdv_meets_mutually (chat/sql/meets_mutually.sql), the predicate
    rdv_send_invite uses too, on each candidate row (inlined by the planner)."""
    return RawSQL(
        'rdv_meets_mutually(%s, %s::text[], %s::text[], "users"."gender", "users"."meet_genders",'
        ' "users"."meet_modes", %s)',
        (viewer.gender, list(viewer.meet_genders), list(viewer.meet_modes), mode),
        output_field=BooleanField(),
    )


def presence_audience(subject_ids, viewer_ids) -> dict[str, set[str]]:
    """For presence events: which of `viewer_ids` may see each of `subject_ids` in their reel,
    as {viewer: {subjects}} (viewers who may see none are left out). The reel's rules between
    two people: both in reels (`_in_reels`), not the same person, no pair barrier (no block
    either way, no live cooldown, the viewer has not reported the subject: rdv_pair_barriers,
    as the reel and the invite), and "who I want to meet" admits both (`meets_mutually`'s test,
    per preference profile). (Online, available and "not in a room" are what the event itself
    reports.) Two indexed queries, whatever the number of pairs."""
    subject_ids = {str(s) for s in subject_ids}
    viewer_ids = {str(v) for v in viewer_ids}
    if not subject_ids or not viewer_ids:
        return {}
    people = {
        str(pk): (gender, frozenset(genders), frozenset(modes))
        for pk, gender, genders, modes in _in_reels()
        .filter(pk__in=subject_ids | viewer_ids)
        .values_list("pk", "gender", "meet_genders", "meet_modes")
    }
    subjects, viewers = subject_ids & people.keys(), viewer_ids & people.keys()
    if not subjects or not viewers:
        return {}
    hidden: dict[str, set[str]] = {}  # viewer -> subjects they may not see (blocks, cooldowns, reports)
    for viewer, subject in _pair_barriers(viewers, subjects):
        hidden.setdefault(str(viewer), set()).add(str(subject))
    # "Who I want to meet", mutually, decided per preference profile (gender, wanted genders,
    # modes): a few dozen profiles at most, so the cost is not per pair, and viewers of one
    # profile share one set.
    by_profile: dict[tuple, set[str]] = {}
    for subject in subjects:
        by_profile.setdefault(people[subject], set()).add(subject)
    admitted_for: dict[tuple, set[str]] = {}
    audience = {}
    for viewer in viewers:
        profile = people[viewer]
        admitted = admitted_for.get(profile)
        if admitted is None:
            v_gender, v_genders, v_modes = profile
            fits = [
                members
                for (s_gender, s_genders, s_modes), members in by_profile.items()
                if s_gender in v_genders and v_gender in s_genders and v_modes & s_modes
            ]
            admitted = admitted_for[profile] = subjects if len(fits) == len(by_profile) else set().union(*fits)
        blocked = hidden.get(viewer)
        if viewer in subjects or blocked:
            visible = admitted - {viewer} - (blocked or set())
            if visible:
                audience[viewer] = visible
        elif admitted:
            audience[viewer] = admitted  # the common case: one shared set, not a copy per viewer
    return audience


def _pk_in(ids: list[str]) -> RawSQL:
    """users.id = ANY(<one uuid[] parameter>): the same plan as pk__in (an index scan of the
    primary key), without 5 000 parameters for Django to build and psycopg to adapt one by one
    (bench/reel.py: that was most of a reel call's CPU)."""
    return RawSQL('"users"."id" = ANY(%s::uuid[])', (ids,), output_field=BooleanField())


def _no_pair_barrier(viewer: User, now) -> RawSQL:
    """Users `viewer` may meet as a pair: no row of rdv_pair_barriers (chat/sql/pair_barriers.sql:
    a block either way, a live cooldown, reported by the viewer), the checks rdv_send_invite
    makes. Inlined by the planner: one anti-join over the viewer's few barrier rows."""
    return RawSQL(
        'NOT EXISTS (SELECT 1 FROM rdv_pair_barriers(ARRAY[%s]::uuid[], NULL, %s) b WHERE b.other_id = "users"."id")',
        (viewer.pk, now),
        output_field=BooleanField(),
    )


def _pair_barriers(viewers, others) -> set[tuple]:
    """(viewer, other) pairs among these people who may not meet (rdv_pair_barriers), one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT viewer_id, other_id FROM rdv_pair_barriers(%s::uuid[], %s::uuid[], %s)",
            [list(viewers), list(others), timezone.now()],
        )
        return set(cursor.fetchall())


def reel_queryset(viewer: User, *, mode: str | None, ids: list[str] | None = None):
    """The reel's one query; `ids` are the online and available users (read from presence
    unless given, as bench/reel.py does to time the query alone)."""
    now = timezone.now()
    if ids is None:
        ids = presence.online_available_ids(mode=mode)
    ids = [uid for uid in ids if uid != str(viewer.pk)]
    introduced = ReferralNotification.objects.filter(
        Q(referred_user=viewer, for_user=OuterRef("pk")) | Q(for_user=viewer, referred_user=OuterRef("pk"))
    )
    return (
        _in_reels()
        .filter(_pk_in(ids))
        .filter(~Exists(ActiveRoomMember.objects.filter(user=OuterRef("pk"))))
        .filter(_no_pair_barrier(viewer, now))
        .filter(meets_mutually(viewer, mode=mode))
        .filter(~is_held_filter(viewer.pk))  # a held viewer gets an empty reel (one InitPlan, same query)
        .annotate(introduced=Exists(introduced))
    )


def reel_card(user: User) -> dict:
    """What the reel shows of a person (a row of `reel_queryset`)."""
    return {**user_card(user), "introduced": user.introduced}


def list_reel(viewer: User, *, mode: str | None = None, near_km: float | None = None, cursor=None, size=20) -> ReelPage:
    ensure_event_open(viewer)  # event mode: the reel is closed outside the window (chat.event_mode)
    rows = reel_queryset(viewer, mode=mode)
    if near_km is not None:
        if near_km not in NEAR_RADII_KM:
            message = f"near must be one of {', '.join(map(str, NEAR_RADII_KM))} (km)."
            raise InvalidInput(message, fields={"near": [message]}, allowed=list(NEAR_RADII_KM))
        mine = UserLocation.objects.filter(user=viewer, expires_at__gt=timezone.now()).first()
        if mine is None or not viewer.location_consent:
            message = "Share your location first (PUT /api/me/location)."
            raise InvalidInput(message, code="location_required", fields={"near": [message]})
        rows = (
            rows.filter(location_consent=True, location__expires_at__gt=timezone.now())
            .annotate(distance_km=_distance_km(float(mine.latitude), float(mine.longitude)))
            .filter(distance_km__lt=near_km)  # the same edge as the buckets' labels
        )
    if cursor:
        after_introduced, after_id = decode_cursor(cursor)
        if after_introduced:
            rows = rows.filter(Q(introduced=False) | Q(introduced=True, pk__gt=after_id))
        else:
            rows = rows.filter(introduced=False, pk__gt=after_id)
    size = max(1, min(int(size), MAX_PAGE))
    page = list(rows.order_by("-introduced", "pk")[: size + 1])
    results = []
    for user in page[:size]:
        card = reel_card(user)
        if near_km is not None:
            card["distance"] = distance_bucket(user.distance_km)
        results.append(card)
    more = len(page) > size
    return ReelPage(results, encode_cursor(page[size - 1].introduced, page[size - 1].pk) if more else None)


NOBODY = str(uuid.UUID(int=0))  # the id looked up when a code names no one (no user has it)


def get_callable_card(viewer: User, user_id, *, mode: str | None = None) -> dict | None:
    """`user_id`'s reel card if they are in `viewer`'s reel right now, else None: the reel's own
    rules, from the reel's own query (`reel_queryset` on that one id; not me, access, bans,
    holds, live room, pair barriers, "who I want to meet" both ways), online and available (for
    `mode`, if given) and, while an event is closed, the event guard with them as the partner
    (a pass holder can call only another one). Event closed for the viewer raises EventClosed,
    as the reel does. Whatever the outcome the same work is done (the guard, both presence
    reads, the one query; for no one, the nil id), so neither the answer nor its time tells
    which rule refused. The invite checks everything again (rdv_send_invite)."""
    candidate = str(user_id) if user_id is not None else NOBODY
    try:
        ensure_event_open(viewer, partner=candidate)
        event_allows = True
    except NotAvailable:
        event_allows = False
    online = presence.is_online(candidate)
    available = presence.is_available(candidate, mode)
    row = reel_queryset(viewer, mode=mode, ids=[candidate]).first()
    if row is None or not (event_allows and online and available):
        return None
    return reel_card(row)
