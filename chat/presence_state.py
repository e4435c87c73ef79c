"""Available while browsing: what a client reports about its pages (`presence.state`) and the
rule that turns it into how long the person stays available, decided here, by the server.

A client with a live socket tells the server which state its pages are in: `reel` (a page
shows the reel or a call), `browsing` (only other pages: settings, history, matches...),
`away` (the person is leaving). With each report it says whether a page is `visible` (shown
and focused) and whether the person used a page (`active`) since the last report. The server
stamps the reports with its own clock and keeps, per user (Redis, chat.presence.state_key):
the state, since when every page is hidden (`hidden_since`), the last activity (`active_at`),
and the user's "stay discoverable while browsing" setting (users.discoverable_while_browsing).

The rule (`lapse_at`): a person said available (`presence.set`) stays available
- on the reel, until every page has been hidden or unfocused for PRESENCE_HIDDEN_SECONDS (60 s);
- while browsing, the same, and also until PRESENCE_IDLE_SECONDS (5 min) after their last
  activity, and only if their setting says to stay discoverable while browsing;
- never once the client said `away`, nor once their last socket closed (chat.presence.drop).
The result is a timestamp (chat.presence.LAPSE) that the reel and the invite read and compare
with the time of the read (chat.presence.is_available, online_available_ids): the reel and the
invite refusal see the expiry the moment it passes, with no sweeper."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from accounts.models import User
from chat import presence
from config.ratelimit import redis_client

STATES = ("reel", "browsing", "away")
STATE_TTL_SECONDS = 24 * 3600  # tidied with the last socket (presence.drop); this only bounds a leak


@dataclass(frozen=True)
class Reported:
    """What the server knows of a user's pages (timestamps from the server's clock)."""

    state: str
    hidden_since: float | None
    active_at: float
    discoverable: bool


def lapse_at(reported: Reported) -> float:
    """The moment the person stops counting as available (math.inf: not by this rule; a past
    moment: already lapsed)."""
    if reported.state == "away":
        return -math.inf
    deadline = math.inf
    if reported.hidden_since is not None:
        deadline = reported.hidden_since + settings.PRESENCE_HIDDEN_SECONDS
    if reported.state == "browsing":
        if not reported.discoverable:
            return -math.inf
        deadline = min(deadline, reported.active_at + settings.PRESENCE_IDLE_SECONDS)
    return deadline


def _read(user_id) -> dict[str, str]:
    raw = redis_client().hgetall(presence.state_key(user_id))
    return {k.decode(): v.decode() for k, v in raw.items()}


def _write(user_id, reported: Reported) -> float:
    lapse = lapse_at(reported)
    fields = {
        "state": reported.state,
        "hidden_since": "" if reported.hidden_since is None else repr(reported.hidden_since),
        "active_at": repr(reported.active_at),
        "discoverable": "1" if reported.discoverable else "0",
    }
    pipe = redis_client().pipeline(transaction=True)
    pipe.delete(presence.state_key(user_id))
    pipe.hset(presence.state_key(user_id), mapping=fields)
    pipe.expire(presence.state_key(user_id), STATE_TTL_SECONDS)
    pipe.zadd(presence.LAPSE, {str(user_id): lapse})
    pipe.execute()
    return lapse


def _known(user_id, discoverable: bool, now: float) -> Reported:
    stored = _read(user_id)
    if not stored:
        return Reported(state="reel", hidden_since=None, active_at=now, discoverable=discoverable)
    return Reported(
        state=stored.get("state", "reel"),
        hidden_since=float(stored["hidden_since"]) if stored.get("hidden_since") else None,
        active_at=float(stored.get("active_at") or now),
        discoverable=stored.get("discoverable", "1") == "1",
    )


def report(
    user_id, *, state: str, visible: bool, active: bool, discoverable: bool, now: float | None = None
) -> tuple[Reported, float]:
    """Record a client's `presence.state` at the server's time `now`: a hidden page keeps the
    moment it was first hidden (a repeated "hidden" does not restart the 60 s), activity or a
    change of state restarts the idle time. Returns what is now known and when it lapses."""
    if state not in STATES:
        raise ValueError(state)
    now = now or time.time()
    known = _known(user_id, discoverable, now)
    hidden_since = None if visible else (known.hidden_since if known.hidden_since is not None else now)
    active_at = now if active or state != known.state else known.active_at
    reported = Reported(state=state, hidden_since=hidden_since, active_at=active_at, discoverable=discoverable)
    return reported, _write(user_id, reported)


def report_for_user(
    user_id, *, state: str, visible: bool, active: bool, now: float | None = None
) -> tuple[Reported, float]:
    """`report` with the user's setting read from the database (one primary-key read), so a
    report never carries a stale copy of it."""
    discoverable = (
        User.objects.filter(pk=user_id).values_list("discoverable_while_browsing", flat=True).first() is not False
    )
    return report(user_id, state=state, visible=visible, active=active, discoverable=discoverable, now=now)


def handle_report(user_id, message, availability: tuple[bool, tuple] | None) -> tuple[Reported, dict]:
    """A `presence.state` frame of a socket whose last `presence.set` said `availability`:
    recorded, and the ack's fields (the state, whether the person is available now, and until
    when)."""
    now = time.time()
    reported, lapse = report_for_user(
        user_id, state=message.state, visible=message.visible, active=message.active, now=now
    )
    available = bool(availability and availability[0]) and lapse > now
    lapses_at = None if math.isinf(lapse) and lapse > 0 else datetime.fromtimestamp(max(lapse, now), tz=UTC)
    return reported, {
        "state": reported.state,
        "available": available,
        "lapses_at": lapses_at.isoformat() if lapses_at else None,
    }


def set_discoverable(user_id, discoverable: bool, *, now: float | None = None) -> float | None:
    """Apply a change of the user's setting to what their client last reported (none: nothing
    to apply). Returns the new lapse time."""
    now = now or time.time()
    stored = _read(user_id)
    if not stored:
        return None
    known = _known(user_id, discoverable, now)
    return _write(user_id, Reported(known.state, known.hidden_since, known.active_at, discoverable))


def restore(user_id, reported: Reported | None) -> None:
    """Write a socket's last report again (chat.presence_keeper, after Redis lost its data)."""
    if reported is not None:
        _write(user_id, reported)
