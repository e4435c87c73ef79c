"""The ASGI process's garbage collector, tuned for many long-lived sockets (docs/operations.md →
Bursts and capacity).

CPython's cyclic collector runs a young collection every 700 net container allocations and a
full one whenever the objects that survived since the last full one reach a quarter of the
old heap. A burst of connects allocates tens of container objects per socket that all stay
alive (the consumer, its tasks, futures, dicts), so during a 2,000-socket burst the collector
ran a full pass over the whole heap (Django's, the URL conf's, every model's: hundreds of
thousands of objects that never die) again and again: py-spy put about half of the worker's
GIL time in gc_collect_main.

So, once the application is loaded: collect, then `gc.freeze()` (everything alive now moves to
a permanent generation the collector never scans again, which also keeps those pages shared
and untouched), and a higher young-generation threshold (fewer, larger young collections; the
older generations keep their defaults). Reference counting still frees everything that is not
in a cycle at once; only cycles wait a little longer.

`GC_FREEZE=0` leaves the collector as CPython sets it; `GC_THRESHOLD` (default `50000,20,10`)
is passed to gc.set_threshold. After a burst has left, BurstLeft gives the memory back."""

from __future__ import annotations

import asyncio
import gc
import logging
import os

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = (50_000, 20, 10)


def parse_threshold(value: str | None) -> tuple[int, ...]:
    if not value:
        return DEFAULT_THRESHOLD
    parts = tuple(int(part) for part in value.split(","))
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
        raise ValueError(f"GC_THRESHOLD must be 1 to 3 non-negative integers, not {value!r}")
    return parts


def tune_after_startup() -> bool:
    """Freeze what the loaded application holds and raise the young threshold; False if
    GC_FREEZE=0 turned it off. Called once per ASGI process (config/asgi.py)."""
    if os.environ.get("GC_FREEZE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    threshold = parse_threshold(os.environ.get("GC_THRESHOLD"))
    gc.collect()
    gc.freeze()
    gc.set_threshold(*threshold)
    logger.debug("gc: %d objects frozen, threshold %s", gc.get_freeze_count(), threshold)
    return True


# --- after a burst has left -------------------------------------------------------------------

TRIM_AFTER_CLOSES = 200  # sockets closed since the last trim
TRIM_QUIET_SECONDS = 5.0  # and none closed for this long


def _malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


class BurstLeft:
    """Once a burst's sockets have gone (TRIM_AFTER_CLOSES closed, then TRIM_QUIET_SECONDS without
    a close): a full collection (the cycles the higher threshold let wait) and glibc's
    malloc_trim(0), which hands the freed pages of every malloc arena back to the system.
    Without it the process keeps the burst's high-water mark (RSS +40 % a minute after 2,000
    sockets left; bench/connect_burst.py)."""

    def __init__(self):
        self.closed = 0
        self.handle = None
        self.trims = 0
        self.trim = _malloc_trim()

    def socket_closed(self) -> None:
        self.closed += 1
        if self.closed < TRIM_AFTER_CLOSES:
            return
        if self.handle is not None:
            self.handle.cancel()
        self.handle = asyncio.get_running_loop().call_later(TRIM_QUIET_SECONDS, self.run)

    def run(self) -> None:
        self.handle, self.closed = None, 0
        collected = gc.collect()
        if self.trim is not None:
            self.trim(0)
        self.trims += 1
        logger.debug("gc after a burst left: %d objects collected, malloc_trim done", collected)


burst_left = BurstLeft()
