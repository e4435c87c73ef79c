"""The ASGI process's collector (config/gc_tuning.py): the loaded application is frozen out of
the collector's scans, the young threshold is raised, and once a burst's sockets have gone a
full collection and malloc_trim give the memory back."""

import asyncio
import gc

import pytest

from config import gc_tuning


@pytest.fixture
def collector():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_startup_freezes_what_is_loaded_and_raises_the_young_threshold(collector, monkeypatch):
    monkeypatch.delenv("GC_FREEZE", raising=False)
    monkeypatch.setenv("GC_THRESHOLD", "40000,15,5")
    assert gc_tuning.tune_after_startup() is True
    assert gc.get_freeze_count() > 10_000  # Django, the models, the URL conf ...
    assert gc.get_threshold() == (40000, 15, 5)


def test_gc_freeze_0_leaves_the_collector_alone(collector, monkeypatch):
    monkeypatch.setenv("GC_FREEZE", "0")
    before = gc.get_threshold()
    assert gc_tuning.tune_after_startup() is False
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


@pytest.mark.parametrize("value", ["", "abc", "1,2,3,4", "-5"])
def test_a_bad_gc_threshold_is_refused_or_the_default(value):
    if not value:
        assert gc_tuning.parse_threshold(value) == gc_tuning.DEFAULT_THRESHOLD
    else:
        with pytest.raises(ValueError):
            gc_tuning.parse_threshold(value)


async def test_memory_is_handed_back_once_a_burst_has_left_and_not_while_it_is_leaving(monkeypatch):
    monkeypatch.setattr(gc_tuning, "TRIM_AFTER_CLOSES", 3)
    monkeypatch.setattr(gc_tuning, "TRIM_QUIET_SECONDS", 0.2)
    left = gc_tuning.BurstLeft()
    trimmed = []
    left.trim = trimmed.append  # glibc's malloc_trim, recorded instead

    for _ in range(2):
        left.socket_closed()
    await asyncio.sleep(0.3)
    assert left.trims == 0  # two sockets closing is no burst

    left.socket_closed()
    await asyncio.sleep(0.1)
    left.socket_closed()  # still leaving: the quiet period starts again
    await asyncio.sleep(0.15)
    assert left.trims == 0
    await asyncio.sleep(0.2)
    assert left.trims == 1 and trimmed == [0]
    assert left.closed == 0


def test_malloc_trim_is_found_on_glibc():
    assert gc_tuning._malloc_trim() is not None
