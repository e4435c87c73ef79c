"""GET /api/stats/live (chat.live_stats): online now from Redis presence, in calls now and
calls today from PostgreSQL, public, cached ≤ 5 s, no per-user data; and the admin
dashboard's live numbers and inline SVG charts."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from chat import live_stats
from chat.models import EventSettings
from tests.api_support import api
from tests.chat_support import go_online
from tests.factories import ActiveRoomFactory, UserFactory

pytestmark = pytest.mark.django_db

LIVE = "/api/stats/live"


def test_live_stats_count_online_in_calls_and_calls_today(time_machine):
    time_machine.move_to(datetime(2027, 3, 10, 20, 0, tzinfo=UTC), tick=True)  # noon in Los Angeles
    users = [UserFactory() for _ in range(5)]
    go_online(*users[:3])
    ActiveRoomFactory(user_1=users[0], user_2=users[1])  # live: 2 in calls
    ActiveRoomFactory(user_1=users[2], user_2=users[3], ended=True)  # today, ended
    ActiveRoomFactory(
        user_1=users[3],
        user_2=users[4],
        ended=True,
        started_at=datetime(2027, 3, 10, 7, 0, tzinfo=UTC),  # 23:00 the day before, local
    )
    response = api().get(LIVE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["online_now"], body["in_calls_now"], body["calls_today"]) == (3, 2, 2)
    assert set(body) == {"online_now", "in_calls_now", "calls_today", "timezone", "computed_at"}


def test_today_is_the_local_day_of_the_event_zone(time_machine):
    EventSettings.objects.create(time_zone="Asia/Tokyo", window_start=time(19), window_end=time(22))
    time_machine.move_to(datetime(2027, 3, 10, 14, 30, tzinfo=UTC), tick=True)  # 23:30 in Tokyo
    ActiveRoomFactory(started_at=datetime(2027, 3, 10, 14, 0, tzinfo=UTC), ended=True)  # 23:00 Tokyo: today
    ActiveRoomFactory(
        started_at=datetime(2027, 3, 10, 14, 59, tzinfo=UTC) - timedelta(hours=1),
        ended=True,
    )
    ActiveRoomFactory(started_at=datetime(2027, 3, 9, 14, 59, tzinfo=UTC), ended=True)  # 23:59 yesterday
    assert live_stats.compute_live_stats()["calls_today"] == 2


def test_the_answer_is_cached_for_at_most_5_seconds(settings, time_machine):
    settings.LIVE_STATS_CACHE_SECONDS = 60  # capped at 5
    first = api().get(LIVE).json()
    ActiveRoomFactory()
    assert api().get(LIVE).json() == first  # cached
    from django.core.cache import cache

    from config.ratelimit import redis_client

    assert 0 < redis_client().ttl(cache.make_key(live_stats.CACHE_KEY)) <= 5
    cache.delete(live_stats.CACHE_KEY)  # as if the 5 s ran out
    assert api().get(LIVE).json()["in_calls_now"] == first["in_calls_now"] + 2


def test_live_stats_are_public_even_with_a_bad_token():
    assert api("not-a-token").get(LIVE).status_code == 200


def test_calls_per_hour_has_24_buckets_with_zeros(time_machine):
    time_machine.move_to(datetime(2027, 3, 10, 20, 30, tzinfo=UTC), tick=False)
    ActiveRoomFactory(started_at=datetime(2027, 3, 10, 20, 5, tzinfo=UTC), ended=True)
    ActiveRoomFactory(started_at=datetime(2027, 3, 10, 18, 59, tzinfo=UTC), ended=True)
    ActiveRoomFactory(started_at=datetime(2027, 3, 9, 20, 59, tzinfo=UTC), ended=True)  # 24 h ago: out
    hours = live_stats.calls_per_hour()
    assert len(hours) == 24
    assert hours[-1] == (datetime(2027, 3, 10, 20, tzinfo=UTC), 1)
    assert dict(hours)[datetime(2027, 3, 10, 18, tzinfo=UTC)] == 1
    assert sum(n for _, n in hours) == 2


def test_svg_chart_escapes_labels():
    svg = live_stats.bar_chart_svg([("<script>", 3), ("b", 0)], label='"x"')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 2 and "style=" not in svg


def test_the_admin_dashboard_shows_live_numbers_and_svg_charts(moderator):
    users = [UserFactory() for _ in range(2)]
    go_online(*users)
    ActiveRoomFactory(user_1=users[0], user_2=users[1])
    client = Client()
    client.force_login(moderator)
    response = client.get(reverse("admin:moderation_dashboard"))
    assert response.status_code == 200
    assert response.context["live"]["in_calls_now"] == 2
    assert response.context["live"]["online_now"] == 2
    html = response.content.decode()
    assert html.count('class="rdv-chart"') == 3  # calls per hour, reports per day, bans per day
    assert sum(n for _, n in response.context["calls_per_hour"]) == 1
