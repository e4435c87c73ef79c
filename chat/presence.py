"""Presence in Redis only (ephemeral by design, rebuilt as clients reconnect).

Per user a sorted set of their live socket channels, scored by when each one's heartbeat
lapses (TTL 60 s, refreshed every 20 s). A global sorted set holds user ids scored by their
latest lapse time, so "who is online" is one ZRANGEBYSCORE. Availability is a set of user
ids. Several tabs and several ASGI processes share these keys.

Available is also bounded in time for a client that reports what its pages are doing
(`presence.state`, chat/presence_state.py): LAPSE scores such a user by the moment their
availability lapses (60 s hidden, 5 min idle while browsing, ...), and every read below
compares it with the time of the read, so nothing depends on a sweeper having run. A user
with no LAPSE entry (a client that never reports) is available as long as it says so."""

import time

from config.ratelimit import redis_client

ONLINE_TTL_SECONDS = 60
HEARTBEAT_SECONDS = 20

ONLINE = "rdv:presence:online"
AVAILABLE = "rdv:presence:available"  # available for any call
LAPSE = "rdv:presence:lapse"  # user id -> when their availability lapses (chat.presence_state)
MODES = ("video", "text")


def _mode_key(mode: str) -> str:
    return f"rdv:presence:available:{mode}"


def _user_key(user_id) -> str:
    return f"rdv:presence:user:{user_id}"


def state_key(user_id) -> str:
    """What the user's client last reported (chat.presence_state), kept to recompute LAPSE."""
    return f"rdv:presence:state:{user_id}"


def _lapsed(score, now: float) -> bool:
    return score is not None and float(score) <= now


def touch(user_id, channel_name: str, *, now: float | None = None) -> None:
    """Register or refresh one socket of the user (connect and every heartbeat)."""
    now = now or time.time()
    lapse = now + ONLINE_TTL_SECONDS
    pipe = redis_client().pipeline(transaction=True)
    pipe.zadd(_user_key(user_id), {channel_name: lapse})
    pipe.zremrangebyscore(_user_key(user_id), "-inf", now)
    pipe.expire(_user_key(user_id), ONLINE_TTL_SECONDS * 2)
    pipe.zadd(ONLINE, {str(user_id): lapse}, gt=True)  # keep the latest lapse of any tab
    pipe.execute()


def register(user_id, channel_name: str, *, limit: int | None = None, now: float | None = None) -> bool:
    """Add a newly authenticated socket, unless the user already has `limit` live sockets:
    then nothing is kept and False is returned. Exact under concurrency: the add and the
    count are one MULTI, so of two sockets racing for the last place one gets it."""
    now = now or time.time()
    lapse = now + ONLINE_TTL_SECONDS
    client = redis_client()
    pipe = client.pipeline(transaction=True)
    pipe.zremrangebyscore(_user_key(user_id), "-inf", now)
    pipe.zadd(_user_key(user_id), {channel_name: lapse})
    pipe.zcard(_user_key(user_id))
    pipe.expire(_user_key(user_id), ONLINE_TTL_SECONDS * 2)
    # In the same round trip; harmless when refused (the user has `limit` live sockets).
    pipe.zadd(ONLINE, {str(user_id): lapse}, gt=True)
    _, _, count, _, _ = pipe.execute()
    if limit is not None and count > limit:
        client.zrem(_user_key(user_id), channel_name)
        return False
    return True


def drop(user_id, channel_name: str, *, now: float | None = None) -> int:
    """Forget one socket; returns how many live sockets the user still has."""
    now = now or time.time()
    client = redis_client()
    pipe = client.pipeline(transaction=True)
    pipe.zrem(_user_key(user_id), channel_name)
    pipe.zremrangebyscore(_user_key(user_id), "-inf", now)
    pipe.zrange(_user_key(user_id), 0, -1, withscores=True)
    _, _, remaining = pipe.execute()
    if remaining:
        client.zadd(ONLINE, {str(user_id): max(score for _, score in remaining)})
    else:
        pipe = client.pipeline(transaction=True)
        pipe.zrem(ONLINE, str(user_id))
        pipe.srem(AVAILABLE, str(user_id))
        for mode in MODES:
            pipe.srem(_mode_key(mode), str(user_id))
        pipe.zrem(LAPSE, str(user_id))  # closing the last socket ends the state it reported
        pipe.delete(state_key(user_id))
        pipe.execute()
    return len(remaining)


def channels_of(user_ids, *, now: float | None = None) -> dict[str, list[str]]:
    """The live socket channels of each user, in one round trip."""
    now = now or time.time()
    user_ids = [str(u) for u in user_ids]
    pipe = redis_client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.zrangebyscore(_user_key(user_id), now, "+inf")
    return {u: [c.decode() for c in chans] for u, chans in zip(user_ids, pipe.execute(), strict=True) if chans}


def socket_count(user_id, *, now: float | None = None) -> int:
    now = now or time.time()
    return redis_client().zcount(_user_key(user_id), now, "+inf")


def is_online(user_id, *, now: float | None = None) -> bool:
    return socket_count(user_id, now=now) > 0


def set_available(user_id, available: bool, modes=MODES) -> None:
    """Available (for the given call modes) or not; shown in others' reels while online."""
    pipe = redis_client().pipeline(transaction=True)
    for mode in MODES:
        if available and mode in modes:
            pipe.sadd(_mode_key(mode), str(user_id))
        else:
            pipe.srem(_mode_key(mode), str(user_id))
    if available and modes:
        pipe.sadd(AVAILABLE, str(user_id))
    else:
        pipe.srem(AVAILABLE, str(user_id))
    pipe.execute()


def is_available(user_id, mode: str | None = None, *, now: float | None = None) -> bool:
    """Said available (for `mode`, if given) and that has not lapsed (LAPSE): the rule the
    invite refusal uses, the same as the reel's (`online_available_ids`)."""
    now = now or time.time()
    pipe = redis_client().pipeline(transaction=False)
    pipe.sismember(_mode_key(mode) if mode else AVAILABLE, str(user_id))
    pipe.zscore(LAPSE, str(user_id))
    member, lapse = pipe.execute()
    return bool(member) and not _lapsed(lapse, now)


def online_available_ids(*, mode: str | None = None, now: float | None = None, limit: int = 5000) -> list[str]:
    """Ids of users online and available (for `mode`, if given), most recently seen first;
    a user whose availability lapsed (LAPSE, as `is_available`) is left out."""
    now = now or time.time()
    client = redis_client()
    online = client.zrevrangebyscore(ONLINE, "+inf", now, start=0, num=limit)
    if not online:
        return []
    pipe = client.pipeline(transaction=False)
    pipe.smismember(_mode_key(mode) if mode else AVAILABLE, online)
    pipe.zrangebyscore(LAPSE, "-inf", now)  # the lapsed only (fewer than the online, and cheaper than a score each)
    flags, lapsed = pipe.execute()
    lapsed = set(lapsed)
    return [uid.decode() for uid, flag in zip(online, flags, strict=True) if flag and uid not in lapsed]


def online_ids(*, now: float | None = None) -> list[str]:
    """Every user with a live socket (any tab, any process)."""
    now = now or time.time()
    return [uid.decode() for uid in redis_client().zrangebyscore(ONLINE, now, "+inf")]


def prune(*, now: float | None = None) -> int:
    """Tidy users whose sockets all lapsed (a crashed process never said goodbye)."""
    now = now or time.time()
    client = redis_client()
    lapsed = client.zrangebyscore(ONLINE, "-inf", now)
    if lapsed:
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(ONLINE, "-inf", now)
        pipe.srem(AVAILABLE, *lapsed)
        for mode in MODES:
            pipe.srem(_mode_key(mode), *lapsed)
        pipe.zrem(LAPSE, *lapsed)
        pipe.execute()
    return len(lapsed)
