"""Per-socket budgets for inbound WebSocket frames: a token bucket per frame type (a burst, then
a steady rate), sized so that the web client never reaches them, and one for every frame
whatever its type (malformed ones included). A frame over its budget is refused with an
`error` `rate_limited` (with `retry_after`) and costs nothing more: no database, no relay. A
socket that keeps going (more refusals than REFUSALS allows) is closed `4008 rate_limited`.

In memory, per socket: budgets belong to one connection, and a new socket starts afresh (the
per-user socket cap bounds how many a person has). The web client (static/rdv/app.js) pings
every 20 s, sends `chat.typing` at most every 3 s and a call's ICE candidates once or twice."""

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    burst: int  # frames at once
    per_second: float  # then this many a second


# Per frame type. A type that is not listed has DEFAULT.
BUDGETS = {
    "ping": Budget(burst=10, per_second=2),
    "presence.set": Budget(burst=10, per_second=1),
    "presence.state": Budget(burst=10, per_second=1),
    "call.invite": Budget(burst=10, per_second=1),
    "call.accept": Budget(burst=10, per_second=1),
    "call.decline": Budget(burst=10, per_second=1),
    "call.cancel": Budget(burst=10, per_second=1),
    "rtc.offer": Budget(burst=20, per_second=2),
    "rtc.answer": Budget(burst=20, per_second=2),
    "rtc.ice": Budget(burst=60, per_second=5),
    "chat.typing": Budget(burst=10, per_second=1),
    "chat.message": Budget(burst=20, per_second=2),  # the rooms' own rule is one per 1.5 s
}
DEFAULT = Budget(burst=10, per_second=1)
ANY_FRAME = Budget(burst=300, per_second=30)  # every frame, before it is decoded
REFUSALS = Budget(burst=20, per_second=0.2)  # refused frames a socket may send before it is closed


class TokenBucket:
    def __init__(self, budget: Budget, now: float):
        self.budget, self.tokens, self.updated = budget, float(budget.burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.budget.burst, self.tokens + (now - self.updated) * self.budget.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def retry_after(self) -> int:
        """Whole seconds until the next frame of this type is allowed (at least 1)."""
        return max(1, math.ceil((1 - self.tokens) / self.budget.per_second))


class FrameBudgets:
    """One socket's budgets. `clock` is time.monotonic (tests pass their own)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}

    def _bucket(self, key: str, budget: Budget) -> TokenBucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(budget, self.clock())
        return bucket

    def refused(self, kind: str | None) -> int | None:
        """None if a frame of `kind` (None: any frame, before decoding) is within budget, and
        counts it; else the seconds after which one would be."""
        budget = ANY_FRAME if kind is None else BUDGETS.get(kind, DEFAULT)
        bucket = self._bucket(kind or "*", budget)
        return None if bucket.take(self.clock()) else bucket.retry_after()

    def keeps_going(self) -> bool:
        """Count one refused frame; True once the socket has used up its refusals."""
        return not self._bucket("refusals", REFUSALS).take(self.clock())
