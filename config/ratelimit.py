"""Fixed-window rate limits on Redis counters (ephemeral by design: a reset is acceptable).

INCR and EXPIRE run in one MULTI, so any number of processes share one exact count."""

from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from config.errors import RateLimited


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: int

    def key(self, subject: str) -> str:
        return f"rdv:rl:{self.name}:{subject}"

    def hit(self, subject: str) -> None:
        """Count one hit for subject; raise RateLimited (with Retry-After) past the limit."""
        key = self.key(subject)
        pipe = redis_client().pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, self.window_seconds, nx=True)
        pipe.ttl(key)
        count, _, ttl = pipe.execute()
        if count > self.max_hits:
            raise RateLimited(retry_after=ttl if ttl and ttl > 0 else self.window_seconds)

    def check(self, subject: str) -> None:
        """Raise RateLimited if subject is already at the limit, without counting a hit."""
        key = self.key(subject)
        pipe = redis_client().pipeline(transaction=True)
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = pipe.execute()
        if count is not None and int(count) >= self.max_hits:
            raise RateLimited(retry_after=ttl if ttl and ttl > 0 else self.window_seconds)

    def reset(self, subject: str) -> None:
        redis_client().delete(self.key(subject))
