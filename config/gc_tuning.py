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
is passed to gc.set_threshold."""

from __future__ import annotations

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
