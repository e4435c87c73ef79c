"""PUT/DELETE /api/me/location: coordinates stored rounded
to 3 decimals, accuracy at most 50 km, a 24 h lifetime, at most one update per 30 minutes,
sharing is consent and DELETE withdraws it."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import User, UserLocation
from tests.chat_support import signed_in

pytestmark = pytest.mark.django_db

LOCATION = "/api/me/location"
TOMMY_TROJAN = {"latitude": 34.0205349, "longitude": -118.2856479, "accuracy_m": 35}


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == code
    return body


@pytest.fixture
def client(alice, clock):
    return signed_in(alice)


def test_put_stores_coordinates_rounded_to_3_decimals_for_24_hours_and_sets_consent(alice, client):
    assert not alice.location_consent

    response = client.put(LOCATION, TOMMY_TROJAN, format="json")

    assert response.status_code == 200, response.content
    now = datetime.now(UTC)
    body = response.json()
    assert (body["latitude"], body["longitude"], body["accuracy_m"]) == ("34.021", "-118.286", 35)
    assert datetime.fromisoformat(body["expires_at"]) == now + timedelta(hours=24)
    row = UserLocation.objects.get(user=alice)
    assert (row.latitude, row.longitude) == (Decimal("34.021"), Decimal("-118.286"))
    assert row.accuracy_m == 35
    assert row.updated_at == row.consent_given_at == now
    assert row.expires_at == now + timedelta(hours=24)
    alice.refresh_from_db()
    assert alice.location_consent is True


@pytest.mark.parametrize(("accuracy", "status"), [(50_000, 200), (50_001, 400), (-1, 400)])
def test_accuracy_must_be_at_most_50_km(alice, client, accuracy, status):
    response = client.put(LOCATION, {**TOMMY_TROJAN, "accuracy_m": accuracy}, format="json")

    assert response.status_code == status, response.content
    assert UserLocation.objects.filter(user=alice).exists() is (status == 200)
    if status == 400:
        assert "accuracy_m" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "change",
    [{"latitude": 91}, {"latitude": -90.5}, {"longitude": 180.1}, {"latitude": "north"}, {"longitude": None}],
)
def test_out_of_range_or_malformed_coordinates_are_400(alice, client, change):
    response = client.put(LOCATION, {**TOMMY_TROJAN, **change}, format="json")

    body = assert_refused(response, 400, "invalid")
    assert set(body["fields"]) == set(change)
    assert not UserLocation.objects.exists()
    alice.refresh_from_db()
    assert alice.location_consent is False


def test_a_second_put_within_30_minutes_is_429_with_retry_after(alice, client, clock):
    assert client.put(LOCATION, TOMMY_TROJAN, format="json").status_code == 200
    clock.shift(timedelta(minutes=29))

    response = client.put(LOCATION, {**TOMMY_TROJAN, "latitude": 40.0}, format="json")

    assert_refused(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 61
    assert UserLocation.objects.get(user=alice).latitude == Decimal("34.021")


def test_a_put_is_allowed_again_after_30_minutes(alice, client, clock):
    assert client.put(LOCATION, TOMMY_TROJAN, format="json").status_code == 200
    clock.shift(timedelta(minutes=30))

    response = client.put(LOCATION, {**TOMMY_TROJAN, "latitude": 40.0}, format="json")

    assert response.status_code == 200, response.content
    row = UserLocation.objects.get(user=alice)
    assert row.latitude == Decimal("40.000")
    assert row.expires_at == datetime.now(UTC) + timedelta(hours=24)


def test_delete_removes_the_location_and_withdraws_consent(alice, bob, client):
    assert client.put(LOCATION, TOMMY_TROJAN, format="json").status_code == 200
    assert signed_in(bob).put(LOCATION, TOMMY_TROJAN, format="json").status_code == 200

    response = client.delete(LOCATION)

    assert response.status_code == 204
    assert not UserLocation.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert alice.location_consent is False
    assert UserLocation.objects.filter(user=bob).exists()  # only mine
    assert User.objects.get(pk=bob.pk).location_consent is True


def test_delete_then_put_does_not_bypass_the_30_minute_limit(alice, client, clock):
    assert client.put(LOCATION, TOMMY_TROJAN, format="json").status_code == 200
    clock.shift(timedelta(minutes=1))
    assert client.delete(LOCATION).status_code == 204

    response = client.put(LOCATION, {**TOMMY_TROJAN, "latitude": 34.2}, format="json")

    assert_refused(response, 429, "rate_limited")


def test_a_stranger_without_a_session_gets_401(alice):
    assert_refused(APIClient().put(LOCATION, TOMMY_TROJAN, format="json"), 401, "not_authenticated")
    assert_refused(APIClient().delete(LOCATION), 401, "not_authenticated")
    assert not UserLocation.objects.exists()
