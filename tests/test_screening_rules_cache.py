"""Screening rules are cached per process and invalidated when moderators change them."""

import pytest
from django.core.cache import cache

from chat.services import post_message
from screening import rules
from screening.errors import MessageBlocked
from screening.models import Detector, WatchedWord
from tests.screening_support import fresh_rules, live_room


@pytest.fixture(autouse=True)
def _fresh_rules():
    fresh_rules()
    yield
    fresh_rules()


@pytest.mark.django_db
def test_rules_are_read_once_then_served_from_the_process_cache(django_assert_num_queries):
    rules.current_rules()
    with django_assert_num_queries(0):
        for _ in range(50):
            rules.current_rules()


@pytest.mark.django_db(transaction=True)
def test_a_new_watched_word_applies_at_once_after_commit(alice, bob):
    room = live_room(alice, bob)
    rules.current_rules()  # cached without the word
    before = cache.get(rules.VERSION_KEY)
    WatchedWord.objects.create(pattern="zelle", action="block")  # autocommit: the signal's on_commit runs
    assert cache.get(rules.VERSION_KEY) != before
    with pytest.raises(MessageBlocked):
        post_message(alice, room_id=room.pk, client_id="c1", text="zelle me")


@pytest.mark.django_db(transaction=True)
def test_another_process_sees_a_change_by_the_version_in_redis(monkeypatch):
    cached = rules.current_rules()
    assert any(r.label == "detector:phone" for r in cached.rules)
    # Another process switched the detector off: only Redis's version tells this one.
    # bulk_create sends no signal (the row may be gone: transactional tests flush the table).
    Detector.objects.bulk_create(
        [Detector(name="phone", enabled=False, action="censor")],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["enabled"],
    )
    cache.set(rules.VERSION_KEY, 12345, timeout=None)
    assert rules.current_rules() is cached  # within RULES_RECHECK_SECONDS: still the cached rules
    monkeypatch.setattr(rules, "_cached", (rules._cached[0], 0.0, cached))  # the recheck is due
    assert not any(r.label == "detector:phone" for r in rules.current_rules().rules)
