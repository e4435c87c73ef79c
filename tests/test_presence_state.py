"""Available while browsing (chat/presence_state.py): a person on another page than the reel
stays in others' reels, and can be invited, until 60 s with every page hidden, 5 minutes
without activity, their "stay discoverable while browsing" switch off, `away`, or their last
socket closing. Decided by the server, with its own clock, and read at the time of the read
(the reel and the invite use one rule, chat.presence.is_available / online_available_ids):
here `now` is given, or the stored timestamps are moved back, never slept through."""

import time

import pytest
from rest_framework.test import APIClient

from accounts.services.sessions import start_session
from chat import presence, presence_state, reel
from tests.factories import UserFactory

HIDDEN = 60.0
IDLE = 300.0


@pytest.fixture
def person(db):
    """Online, said available, and in reels (access granted)."""
    user = UserFactory(name="Pat")
    presence.touch(user.pk, "chan-1")
    presence.set_available(user.pk, True)
    return user


def report(user, state="browsing", *, visible=True, active=False, discoverable=True, now):
    return presence_state.report(
        user.pk, state=state, visible=visible, active=active, discoverable=discoverable, now=now
    )


def available(user, now) -> bool:
    """The rule as the invite reads it, and as the reel reads it: both must agree (the
    socket's heartbeat keeps the person online at `now`)."""
    presence.touch(user.pk, "chan-1", now=now)
    one = presence.is_available(user.pk, now=now)
    listed = str(user.pk) in presence.online_available_ids(now=now)
    assert one == listed
    return one


def test_browsing_person_stays_available_until_5_minutes_without_activity(person):
    t0 = time.time()
    report(person, active=True, now=t0)

    assert available(person, t0 + IDLE - 1)
    assert not available(person, t0 + IDLE)


def test_activity_while_browsing_restarts_the_5_minutes(person):
    t0 = time.time()
    report(person, active=True, now=t0)
    report(person, active=True, now=t0 + 200)

    assert available(person, t0 + IDLE + 100)
    assert not available(person, t0 + 200 + IDLE)


def test_a_report_without_activity_does_not_restart_the_5_minutes(person):
    t0 = time.time()
    report(person, active=True, now=t0)
    report(person, active=False, now=t0 + 200)

    assert not available(person, t0 + IDLE)


def test_every_page_hidden_for_60_seconds_ends_availability_while_browsing(person):
    t0 = time.time()
    report(person, active=True, now=t0)
    report(person, visible=False, now=t0 + 10)

    assert available(person, t0 + 10 + HIDDEN - 1)
    assert not available(person, t0 + 10 + HIDDEN)


def test_the_reel_hidden_for_60_seconds_ends_availability_too(person):
    t0 = time.time()
    report(person, "reel", visible=False, now=t0)

    assert available(person, t0 + HIDDEN - 1)
    assert not available(person, t0 + HIDDEN)


def test_the_reel_shown_has_no_idle_limit(person):
    t0 = time.time()
    report(person, "reel", now=t0)

    assert available(person, t0 + 10 * IDLE)


def test_a_repeated_hidden_report_does_not_restart_the_60_seconds(person):
    t0 = time.time()
    report(person, visible=False, active=True, now=t0)
    report(person, visible=False, active=True, now=t0 + 50)

    assert not available(person, t0 + HIDDEN)


def test_a_page_shown_again_ends_the_hidden_count(person):
    t0 = time.time()
    report(person, visible=False, now=t0)
    report(person, visible=True, active=True, now=t0 + 30)

    assert available(person, t0 + 30 + HIDDEN + 10)


def test_away_ends_availability_at_once(person):
    t0 = time.time()
    report(person, "away", now=t0)

    assert not available(person, t0)


def test_switch_off_makes_a_browsing_person_unavailable_but_not_one_on_the_reel(person):
    t0 = time.time()
    report(person, active=True, discoverable=False, now=t0)
    assert not available(person, t0)

    report(person, "reel", active=True, discoverable=False, now=t0 + 1)
    assert available(person, t0 + 1)


def test_turning_the_switch_off_in_settings_applies_at_once_to_a_browsing_person(
    person, django_capture_on_commit_callbacks
):
    report(person, active=True, now=time.time())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {start_session(person, ip='127.0.0.1')}")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch("/api/me", {"discoverable_while_browsing": False}, format="json")

    assert response.status_code == 200
    assert response.json()["discoverable_while_browsing"] is False
    person.refresh_from_db()
    assert person.discoverable_while_browsing is False
    assert not available(person, time.time())


def test_a_report_reads_the_switch_from_the_database(person):
    person.discoverable_while_browsing = False
    person.save(update_fields=["discoverable_while_browsing"])

    presence_state.report_for_user(person.pk, state="browsing", visible=True, active=True)

    assert not available(person, time.time())


def test_the_switch_is_on_for_a_new_account(db):
    assert UserFactory().discoverable_while_browsing is True


def test_the_last_socket_closing_forgets_the_reported_state(person):
    report(person, "away", now=time.time())
    presence.drop(person.pk, "chan-1")

    assert not presence.is_online(person.pk)
    assert presence_state._read(person.pk) == {}
    assert presence.redis_client().zscore(presence.LAPSE, str(person.pk)) is None


def test_a_client_that_never_reports_keeps_the_old_rule(person):
    assert available(person, time.time() + 10 * IDLE)


def test_the_reel_leaves_out_a_person_whose_availability_lapsed(person):
    viewer = UserFactory(name="Viewer")
    t0 = time.time()
    report(person, active=True, now=t0 - IDLE - 1)

    shown = reel.list_reel(viewer).results

    assert str(person.pk) not in [card["id"] for card in shown]
    report(person, active=True, now=t0)
    assert str(person.pk) in [card["id"] for card in reel.list_reel(viewer).results]


def test_a_report_restored_after_redis_lost_its_data_keeps_its_timestamps(person):
    t0 = time.time()
    reported, _ = report(person, visible=False, active=True, now=t0)
    lost = (presence.LAPSE, presence.state_key(person.pk), presence.ONLINE, presence.AVAILABLE)
    presence.redis_client().delete(*lost)  # what Redis losing its data loses
    presence.set_available(person.pk, True)

    presence_state.restore(person.pk, reported)  # chat.presence_keeper, for each socket

    assert available(person, t0 + HIDDEN - 1)
    assert not available(person, t0 + HIDDEN)
